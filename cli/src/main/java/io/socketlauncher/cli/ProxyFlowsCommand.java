package io.socketlauncher.cli;

import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.Wire;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "flows", mixinStandardHelpOptions = true,
        description = "List flows of a running proxy and the backend each is mapped to.")
final class ProxyFlowsCommand extends ProxyControlCommand {
    @Option(names = "--limit", paramLabel = "N", defaultValue = "100",
            description = "At most this many flows (1.." + Wire.MAX_FLOWS_PER_REPLY + ", default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    Object run(ControlClient client) throws IOException {
        if (limit < 1 || limit > Wire.MAX_FLOWS_PER_REPLY) {
            throw new IllegalArgumentException("--limit must be 1.." + Wire.MAX_FLOWS_PER_REPLY + ", got " + limit);
        }
        List<FlowInfo> flows = client.flows(limit);
        return Map.of("flows", flows.stream().map(ProxyControlCommand::json).toList());
    }

    @Override
    String text(Object result) {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> flows = (List<Map<String, Object>>) ((Map<String, Object>) result).get("flows");
        String table = table(List.of("CLIENT", "VIP", "BACKEND", "PACKETS", "BYTES", "IDLE_MS"), flows.stream()
                .map(f -> List.of(f.get("client"), f.get("vip"), f.get("backend"), f.get("packets"), f.get("bytes"),
                        f.get("idle_ms")))
                .toList());
        return table + System.lineSeparator() + flows.size() + (flows.size() == 1 ? " flow" : " flows");
    }
}
