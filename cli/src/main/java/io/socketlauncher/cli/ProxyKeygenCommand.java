package io.socketlauncher.cli;

import io.socketlauncher.proxy.control.ControlKeys;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "keygen", mixinStandardHelpOptions = true,
        description = "Write a new random control key (256 bits, hex) to a new file readable by its owner only.")
final class ProxyKeygenCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The key file to create (must not exist).")
    Path out;

    @Override
    public Integer call() throws Exception {
        ControlKeys.generate(out);
        spec.commandLine().getOut().println("wrote a new control key to " + out);
        return 0;
    }
}
