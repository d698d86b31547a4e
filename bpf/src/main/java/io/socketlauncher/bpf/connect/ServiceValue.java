package io.socketlauncher.bpf.connect;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** {@code struct vs_service}. {@code reals} is the highest real index in use plus one. */
public record ServiceValue(int id, int scheduler, int ringSize, int reals) {
    public static final int SIZE = 16;
    /** enum vs_scheduler. */
    public static final int RR = 0, WRR = 1, RANDOM = 2, LC = 3, SH = 4;
    public static final int MAX_REALS = 64, MAX_RING = 1024;

    public byte[] encode() {
        return ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder())
                .putInt(id).putInt(scheduler).putInt(ringSize).putInt(reals).array();
    }

    public static ServiceValue decode(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        return new ServiceValue(b.getInt(), b.getInt(), b.getInt(), b.getInt());
    }
}
