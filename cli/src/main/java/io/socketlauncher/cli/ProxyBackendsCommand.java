package io.socketlauncher.cli;

import io.socketlauncher.proxy.control.ControlClient;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "backends", mixinStandardHelpOptions = true,
        description = "List the backends of a running proxy: weight (0 = draining), health, flows, counters.")
final class ProxyBackendsCommand extends ProxyControlCommand {
    @Override
    Object run(ControlClient client) throws IOException {
        return Map.of("backends", client.backends().stream().map(ProxyControlCommand::json).toList());
    }

    @Override
    String text(Object result) {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> backends = (List<Map<String, Object>>) ((Map<String, Object>) result).get("backends");
        return table(List.of("ID", "VIP", "ADDRESS", "WEIGHT", "HEALTHY", "FLOWS", "PACKETS", "BYTES"), backends.stream()
                .map(b -> List.of(b.get("id"), b.get("vip"), b.get("address"), b.get("weight"),
                        (Boolean) b.get("healthy") ? "yes" : "no", b.get("active_flows"), b.get("packets"),
                        b.get("bytes")))
                .toList());
    }
}
