package io.socketlauncher.proxy.control;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A TCP flow as the client sees it: the client's address and port, and the virtual address it connected to. A
 * REDIRECT may also name a flow as a backend's socket sees it: its peer in {@code client} (in full NAT the proxy's
 * source address and port) and the backend's own address in {@code vip}.
 */
public record FlowKey(InetSocketAddress client, InetSocketAddress vip) {
    public FlowKey {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(vip, "vip");
    }
}
