package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.util.List;
import java.util.function.BiConsumer;

/** The {@code reverse} LRU hash: backend-side 5-tuple (backend to client or proxy) to its client flow. */
public final class ReverseMap {
    private final BpfMap map;

    ReverseMap(BpfMap map) {
        this.map = map;
    }

    public ReverseEntry get(FlowTuple key) throws NativeException {
        byte[] value = new byte[ReverseEntry.SIZE];
        return map.lookup(key.encode(), value) ? ReverseEntry.decode(value) : null;
    }

    /** False when the key is taken (full NAT: that proxy port is in use towards that backend). */
    public boolean putIfAbsent(FlowTuple key, ReverseEntry entry) throws NativeException {
        try {
            map.update(key.encode(), entry.encode(), BpfMap.NO_EXIST);
            return true;
        } catch (NativeException e) {
            if (e.is(io.socketlauncher.sys.Errno.EEXIST)) return false;
            throw e;
        }
    }

    public void put(FlowTuple key, ReverseEntry entry) throws NativeException {
        map.update(key.encode(), entry.encode(), BpfMap.ANY);
    }

    public boolean remove(FlowTuple key) throws NativeException {
        return map.delete(key.encode());
    }

    /** Deletes the entries of {@code keys} in a few syscalls; keys already gone are skipped. Returns how many went. */
    public int removeAll(List<FlowTuple> keys) throws NativeException {
        return MapWalk.delete(map, keys);
    }

    public int forEach(int limit, BiConsumer<FlowTuple, ReverseEntry> visitor) throws NativeException {
        return MapWalk.walk(map, FlowTuple.SIZE, ReverseEntry.SIZE, limit, (k, v) -> visitor.accept(FlowTuple.decode(k), ReverseEntry.decode(v)));
    }
}
