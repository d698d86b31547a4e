package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.BpfMapBatch;
import io.socketlauncher.sys.NativeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** The {@code rings} array: one Maglev lookup table of {@link #RING_SIZE} backend slots per service. */
public final class RingsMap {
    public static final int RING_SIZE = 65537;
    private final BpfMap map;

    RingsMap(BpfMap map) {
        this.map = map;
    }

    /**
     * Writes the slots that differ from {@code previous} (null: all), in one batch syscall. Each slot
     * update is atomic, so a packet sees either the old or the new backend of a slot: a consistent-hashing
     * change in flight.
     */
    public void write(int serviceId, int[] table, int[] previous) throws NativeException {
        if (table.length != RING_SIZE) throw new IllegalArgumentException("a ring has " + RING_SIZE + " slots, got " + table.length);
        ByteBuffer keys = ByteBuffer.allocate(4 * RING_SIZE).order(ByteOrder.nativeOrder());
        ByteBuffer values = ByteBuffer.allocate(4 * RING_SIZE).order(ByteOrder.nativeOrder());
        int changed = 0;
        for (int i = 0; i < RING_SIZE; i++) {
            if (previous != null && previous[i] == table[i]) continue;
            keys.putInt(serviceId * RING_SIZE + i);
            values.putInt(table[i]);
            changed++;
        }
        BpfMapBatch.update(map, Arrays.copyOf(keys.array(), 4 * changed), Arrays.copyOf(values.array(), 4 * changed), changed, BpfMap.ANY);
    }
}
