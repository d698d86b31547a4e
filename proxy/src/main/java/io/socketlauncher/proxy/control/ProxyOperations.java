package io.socketlauncher.proxy.control;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * What the proxy's control plane can do. The proxy implements it; the {@code ControlServer} exposes it over the
 * authenticated control protocol and the {@code ControlClient} offers the same operations to a remote caller.
 */
public interface ProxyOperations {
    List<FlowInfo> flows(int limit) throws IOException;

    List<BackendInfo> backends() throws IOException;

    /**
     * Re-points one live flow atomically; returns the flow as now mapped (the REDIRECTED confirmation). The flow is
     * named as the client sent it (client, VIP), or as a backend's socket sees it (its peer, the backend's address).
     * Unknown flow or backend: IllegalArgumentException with a precise message.
     */
    FlowInfo redirect(FlowKey flow, String backendId) throws IOException;

    void addBackend(InetSocketAddress vip, String backendId, InetSocketAddress address, int weight) throws IOException;

    void removeBackend(String backendId) throws IOException;

    /** Weight 0 drains: no new flows, existing flows stay. */
    void setWeight(String backendId, int weight) throws IOException;
}
