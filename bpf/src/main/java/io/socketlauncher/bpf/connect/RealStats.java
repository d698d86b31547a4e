package io.socketlauncher.bpf.connect;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** {@code struct vs_stats}, keyed by real id. */
public record RealStats(long active, long connections) {
    public static final int SIZE = 16;
    public static final RealStats ZERO = new RealStats(0, 0);

    public byte[] encode() {
        return ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder()).putLong(active).putLong(connections).array();
    }

    public static RealStats decode(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        return new RealStats(b.getLong(), b.getLong());
    }
}
