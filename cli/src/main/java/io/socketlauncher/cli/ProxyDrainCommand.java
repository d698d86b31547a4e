package io.socketlauncher.cli;

import io.socketlauncher.proxy.control.ControlClient;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "drain", mixinStandardHelpOptions = true,
        description = "Drain a backend: weight 0, no new flows; its existing flows stay until they end.")
final class ProxyDrainCommand extends ProxyControlCommand {
    @Parameters(index = "0", paramLabel = "BACKEND", converter = BackendIdConverter.class, description = "Backend id.")
    String backend;

    @Override
    Object run(ControlClient client) throws IOException {
        client.setWeight(backend, 0);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backend", backend);
        m.put("weight", 0);
        return m;
    }

    @Override
    String text(Object result) {
        return "draining " + backend + ": no new flows";
    }
}
