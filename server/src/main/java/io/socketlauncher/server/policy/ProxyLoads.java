package io.socketlauncher.server.policy;

import io.socketlauncher.proxy.control.BackendInfo;
import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.server.LauncherServer;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Peer loads as the proxy counts them: each backend's active flows (the proxy recounts them every second). Only
 * healthy backends with a positive weight count as able to take connections: a peer being drained has weight 0.
 * The server's own id is left out. One control connection, reopened after a failure.
 */
public final class ProxyLoads implements PeerLoads, AutoCloseable {
    private final LauncherServer server;
    private ControlClient client;

    public ProxyLoads(LauncherServer server) {
        this.server = server;
    }

    @Override
    public synchronized Map<String, Long> loads() throws IOException {
        if (client == null) client = server.proxyClient();
        try {
            Map<String, Long> loads = new HashMap<>();
            for (BackendInfo b : client.backends()) {
                if (b.healthy() && b.weight() > 0 && !b.id().equals(server.id())) loads.put(b.id(), b.activeFlows());
            }
            return loads;
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        if (client == null) return;
        try {
            client.close();
        } catch (IOException ignored) {
            // dropping the connection is all we wanted
        }
        client = null;
    }
}
