package io.socketlauncher.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/launcher}: the one entry point. Each subcommand lives in its own class. */
@Command(name = "launcher",
        mixinStandardHelpOptions = true,
        version = "Socket Launcher 0.1.0",
        description = "Live, lossless, client-transparent migration of TCP connections between servers.",
        subcommands = {
            CommandLine.HelpCommand.class,
            BenchCommand.class,
            DemoCommand.class,
            ProxyCommand.class,
            AgentCommand.class,
            VsCommand.class,
            TestbedCommand.class,
        })
public final class Launcher implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line as main runs it: a failure prints the command's name and the message, and exits with 1. */
    static CommandLine commandLine() {
        return new CommandLine(new Launcher())
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    cmd.getErr().println(cmd.getColorScheme().errorText(cmd.getCommandName() + ": " + e.getMessage()));
                    if (System.getenv("LAUNCHER_DEBUG") != null) e.printStackTrace(cmd.getErr());
                    return 1;
                });
    }
}
