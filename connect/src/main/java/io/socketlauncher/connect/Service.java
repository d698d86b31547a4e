package io.socketlauncher.connect;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A virtual service: what clients connect to. {@code netns} names the network namespace whose clients
 * it applies to ({@code /var/run/netns/NAME}); empty means the namespace of the administrating process.
 */
public record Service(Protocol protocol, InetSocketAddress address, String netns) {
    public Service {
        Objects.requireNonNull(protocol);
        Objects.requireNonNull(address);
        Objects.requireNonNull(netns);
    }

    public Service(Protocol protocol, InetSocketAddress address) {
        this(protocol, address, "");
    }

    @Override
    public String toString() {
        return protocol.name().toLowerCase() + " " + Config.format(address) + (netns.isEmpty() ? "" : " in netns " + netns);
    }
}
