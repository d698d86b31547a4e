package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.nio.ByteBuffer;

/** A per-CPU array of {@link Counters} ({@code service_counters} or {@code backend_counters}), summed over CPUs. */
public final class CountersMap {
    private final BpfMap map;
    private final int cpus = BpfMap.possibleCpus();

    CountersMap(BpfMap map) {
        this.map = map;
    }

    public Counters get(int index) throws NativeException {
        byte[] values = new byte[Counters.SIZE * cpus];
        if (!map.lookup(BackendsMap.key(index), values)) return Counters.ZERO;
        ByteBuffer b = Wire.buffer(values);
        Counters sum = Counters.ZERO;
        for (int cpu = 0; cpu < cpus; cpu++) {
            sum = sum.plus(new Counters(b.getLong(), b.getLong(), b.getLong(), b.getLong()));
        }
        return sum;
    }

    /** Zeroes a slot before it is reused for another service or backend. */
    public void reset(int index) throws NativeException {
        map.update(BackendsMap.key(index), new byte[Counters.SIZE * cpus], BpfMap.ANY);
    }
}
