package io.socketlauncher.bpf.connect;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** {@code struct vs_real_key}; also the layout of {@code struct vs_ring_key} (service, position). */
public record RealKey(int service, int index) {
    public static final int SIZE = 8;

    public byte[] encode() {
        return ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder()).putInt(service).putInt(index).array();
    }

    public static RealKey decode(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        return new RealKey(b.getInt(), b.getInt());
    }
}
