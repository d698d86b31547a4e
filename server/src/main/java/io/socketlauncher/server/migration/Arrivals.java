package io.socketlauncher.server.migration;

import java.net.InetSocketAddress;

/** Where the target hands a restored connection (its socket already serving the client). */
@FunctionalInterface
public interface Arrivals {
    void arrived(int fd, InetSocketAddress client, InetSocketAddress local, byte[] applicationState, String fromPeer);
}
