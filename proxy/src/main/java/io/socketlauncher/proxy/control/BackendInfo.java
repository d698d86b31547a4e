package io.socketlauncher.proxy.control;

import java.net.InetSocketAddress;
import java.util.Objects;

/** One backend behind a virtual address, with its selection weight (0 = draining), health and counters. */
public record BackendInfo(String id, InetSocketAddress vip, InetSocketAddress address, int weight,
                          boolean healthy, long activeFlows, long packets, long bytes) {
    public BackendInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(vip, "vip");
        Objects.requireNonNull(address, "address");
    }
}
