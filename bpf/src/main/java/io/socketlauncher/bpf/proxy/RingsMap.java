package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The {@code rings} array: one Maglev lookup table of {@link #RING_SIZE} backend slots per service. */
public final class RingsMap {
    public static final int RING_SIZE = 65537;
    private final BpfMap map;

    RingsMap(BpfMap map) {
        this.map = map;
    }

    /**
     * Writes the slots that differ from {@code previous} (null: all). Each slot update is atomic, so a
     * packet sees either the old or the new backend of a slot: a consistent-hashing change in flight.
     */
    public void write(int serviceId, int[] table, int[] previous) throws NativeException {
        if (table.length != RING_SIZE) throw new IllegalArgumentException("a ring has " + RING_SIZE + " slots, got " + table.length);
        byte[] key = new byte[4], value = new byte[4];
        ByteBuffer k = ByteBuffer.wrap(key).order(ByteOrder.nativeOrder());
        ByteBuffer v = ByteBuffer.wrap(value).order(ByteOrder.nativeOrder());
        for (int i = 0; i < RING_SIZE; i++) {
            if (previous != null && previous[i] == table[i]) continue;
            k.putInt(0, serviceId * RING_SIZE + i);
            v.putInt(0, table[i]);
            map.update(key, value, BpfMap.ANY);
        }
    }
}
