package io.socketlauncher.server;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * Another server a connection can move to: its id (the proxy's backend id for it) and the address its
 * migration agent listens on.
 */
public record Peer(String id, InetSocketAddress agent) {
    public Peer {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(agent, "agent");
        if (agent.isUnresolved()) throw new IllegalArgumentException("peer " + id + " agent address " + agent + " is unresolved");
    }
}
