package io.socketlauncher.proxy.control;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A server that joined through the proxy: its id (its backend id at the proxy) and the address its migration agent
 * listens on for peers.
 */
public record ServerInfo(String id, InetSocketAddress agent) {
    public ServerInfo {
        BackendIds.require(id);
        Objects.requireNonNull(agent, "agent");
        if (agent.isUnresolved()) {
            throw new IllegalArgumentException("agent address " + agent + " of server " + id + " is unresolved");
        }
    }
}
