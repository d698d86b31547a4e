package io.socketlauncher.cli;

import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.proxy.control.Endpoints;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "add-backend", mixinStandardHelpOptions = true,
        description = "Add a backend behind one of the proxy's virtual addresses.")
final class ProxyAddBackendCommand extends ProxyControlCommand {
    @Option(names = "--vip", required = true, paramLabel = "ADDR:PORT", converter = AddressConverter.class,
            description = "The virtual address (service) the backend serves.")
    InetSocketAddress vip;

    @Option(names = "--id", required = true, paramLabel = "ID", converter = BackendIdConverter.class,
            description = "New backend id: letters, digits, . _ - : (at most 64).")
    String id;

    @Option(names = "--address", required = true, paramLabel = "ADDR:PORT", converter = AddressConverter.class,
            description = "Where the backend listens.")
    InetSocketAddress address;

    @Option(names = "--weight", paramLabel = "N", defaultValue = "1", description = "Weight (default: ${DEFAULT-VALUE}).")
    int weight;

    @Override
    Object run(ControlClient client) throws IOException {
        if (weight < 0) {
            throw new IllegalArgumentException("weight " + weight + " is negative; 0 adds the backend drained");
        }
        client.addBackend(vip, id, address, weight);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("added", id);
        m.put("vip", Endpoints.format(vip));
        m.put("address", Endpoints.format(address));
        m.put("weight", weight);
        return m;
    }

    @Override
    String text(Object result) {
        return "added backend " + id + " " + Endpoints.format(address) + " to " + Endpoints.format(vip)
                + " with weight " + weight;
    }
}
