package io.socketlauncher.connect;

import java.net.InetSocketAddress;

/** A real server of a service as listed: its weight and counters. */
public record RealServer(InetSocketAddress address, int weight, long activeConnections, long connections) {
}
