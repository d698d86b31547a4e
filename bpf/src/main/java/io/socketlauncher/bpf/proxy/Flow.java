package io.socketlauncher.bpf.proxy;

import java.nio.ByteBuffer;

/**
 * struct proxy_flow: the backend a flow goes to, its full-NAT source port (0 in NAT mode), when it was
 * last seen and since when it is closing (CLOCK_MONOTONIC nanoseconds, 0 while open), and its counters.
 */
public record Flow(long lastSeenNanos, long closingSinceNanos, long packets, long bytes, int backend, int natPort, int flags) {
    public static final int SIZE = 40;

    public boolean closing() {
        return closingSinceNanos != 0;
    }

    public Flow withBackend(int newBackend, int newNatPort) {
        return new Flow(lastSeenNanos, closingSinceNanos, packets, bytes, newBackend, newNatPort, flags);
    }

    public byte[] encode() {
        byte[] out = new byte[SIZE];
        ByteBuffer b = Wire.buffer(out);
        b.putLong(lastSeenNanos).putLong(closingSinceNanos).putLong(packets).putLong(bytes).putInt(backend);
        Wire.putPort(b, natPort);
        b.putShort((short) flags);
        return out;
    }

    public static Flow decode(byte[] raw) {
        ByteBuffer b = Wire.buffer(raw);
        long last = b.getLong(), closing = b.getLong(), packets = b.getLong(), bytes = b.getLong();
        int backend = b.getInt();
        int natPort = Wire.getPort(b);
        int flags = b.getShort() & 0xffff;
        return new Flow(last, closing, packets, bytes, backend, natPort, flags);
    }
}
