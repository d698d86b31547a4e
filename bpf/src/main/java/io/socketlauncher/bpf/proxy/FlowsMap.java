package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/** The {@code flows} LRU hash: client-side 5-tuple to flow. */
public final class FlowsMap {
    private final BpfMap map;

    FlowsMap(BpfMap map) {
        this.map = map;
    }

    public Flow get(FlowTuple key) throws NativeException {
        byte[] value = new byte[Flow.SIZE];
        return map.lookup(key.encode(), value) ? Flow.decode(value) : null;
    }

    public void put(FlowTuple key, Flow flow) throws NativeException {
        map.update(key.encode(), flow.encode(), BpfMap.ANY);
    }

    public boolean remove(FlowTuple key) throws NativeException {
        return map.delete(key.encode());
    }

    /**
     * Deletes each entry of {@code keys} that {@code still} accepts as it is now, read just before its delete, and
     * returns those deleted with their entries. For keys picked by a walk: the data plane may have changed an entry
     * since (a flow learned anew on the same 5-tuple), and a batch delete would take the new one with the old.
     */
    public Map<FlowTuple, Flow> removeIf(List<FlowTuple> keys, Predicate<Flow> still) throws NativeException {
        Map<FlowTuple, Flow> removed = new LinkedHashMap<>();
        for (FlowTuple k : keys) {
            Flow now = get(k);
            if (now != null && still.test(now) && remove(k)) removed.put(k, now);
        }
        return removed;
    }

    /** Visits up to {@code limit} entries; entries that vanish during the walk are skipped. */
    public int forEach(int limit, BiConsumer<FlowTuple, Flow> visitor) throws NativeException {
        return MapWalk.walk(map, FlowTuple.SIZE, Flow.SIZE, limit, (k, v) -> visitor.accept(FlowTuple.decode(k), Flow.decode(v)));
    }
}
