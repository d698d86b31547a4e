package io.socketlauncher.cli;

import io.socketlauncher.proxy.control.ControlClient;
import java.io.IOException;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "remove-backend", mixinStandardHelpOptions = true,
        description = "Remove a backend from the proxy (drain it first to let its flows finish).")
final class ProxyRemoveBackendCommand extends ProxyControlCommand {
    @Parameters(index = "0", paramLabel = "BACKEND", converter = BackendIdConverter.class, description = "Backend id.")
    String backend;

    @Override
    Object run(ControlClient client) throws IOException {
        client.removeBackend(backend);
        return Map.of("removed", backend);
    }

    @Override
    String text(Object result) {
        return "removed backend " + backend;
    }
}
