package io.socketlauncher.proxy.control;

import java.net.InetSocketAddress;
import java.util.Objects;

/** A TCP flow as the client sees it: the client's address and port, and the virtual address it connected to. */
public record FlowKey(InetSocketAddress client, InetSocketAddress vip) {
    public FlowKey {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(vip, "vip");
    }
}
