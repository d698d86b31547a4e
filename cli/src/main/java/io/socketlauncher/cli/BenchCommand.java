package io.socketlauncher.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/launcher bench NAME [--quick] --json}: each benchmark is a subcommand printing one JSON object. */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = "Run a benchmark on the testbed and print its figures as one JSON object.",
        subcommands = {
            BenchProxyCommand.class,
            BenchConnectCommand.class,
            BenchRepairCommand.class,
            BenchMigrateCommand.class,
        })
public final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
