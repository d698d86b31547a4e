package io.socketlauncher.cli;

import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import java.io.IOException;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "redirect", mixinStandardHelpOptions = true,
        description = "Re-point one live flow to another backend (REDIRECT); prints the flow as now mapped (REDIRECTED).")
final class ProxyRedirectCommand extends ProxyControlCommand {
    @Option(names = "--flow", required = true, paramLabel = "CLIENTIP:PORT-VIP:PORT", converter = FlowConverter.class,
            description = "The flow as the client sees it, e.g. 10.77.1.2:40000-10.77.200.1:6379; or as its backend's socket "
                    + "sees it: the socket's peer, then the backend's address.")
    FlowKey flow;

    @Option(names = "--to", required = true, paramLabel = "BACKEND", converter = BackendIdConverter.class,
            description = "Id of the backend the flow's next packets go to.")
    String backend;

    @Override
    Object run(ControlClient client) throws IOException {
        FlowInfo now = client.redirect(flow, backend);
        return Map.of("redirected", json(now));
    }

    @Override
    String text(Object result) {
        @SuppressWarnings("unchecked")
        Map<String, Object> f = (Map<String, Object>) ((Map<String, Object>) result).get("redirected");
        return "redirected " + f.get("client") + "-" + f.get("vip") + " to " + f.get("backend");
    }
}
