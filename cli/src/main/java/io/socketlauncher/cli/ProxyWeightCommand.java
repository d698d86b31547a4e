package io.socketlauncher.cli;

import io.socketlauncher.proxy.control.ControlClient;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "weight", mixinStandardHelpOptions = true,
        description = "Set a backend's weight for new flows (0 drains).")
final class ProxyWeightCommand extends ProxyControlCommand {
    @Parameters(index = "0", paramLabel = "BACKEND", converter = BackendIdConverter.class, description = "Backend id.")
    String backend;

    @Parameters(index = "1", paramLabel = "N", description = "New weight, 0 or more.")
    int weight;

    @Override
    Object run(ControlClient client) throws IOException {
        if (weight < 0) {
            throw new IllegalArgumentException("weight " + weight + " is negative; 0 drains");
        }
        client.setWeight(backend, weight);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backend", backend);
        m.put("weight", weight);
        return m;
    }

    @Override
    String text(Object result) {
        return "weight of " + backend + " is now " + weight;
    }
}
