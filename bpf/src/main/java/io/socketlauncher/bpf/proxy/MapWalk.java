package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.BpfMapBatch;
import io.socketlauncher.sys.NativeException;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Walks and bulk deletes of the hash maps, by batch syscalls: a sweep of a full flow table costs a few
 * dozen syscalls instead of two per entry. Entries added or deleted during a walk may or may not be seen.
 */
final class MapWalk {
    private MapWalk() {}

    static int walk(BpfMap map, int keySize, int valueSize, int limit, BiConsumer<byte[], byte[]> visitor) throws NativeException {
        return BpfMapBatch.forEach(map, keySize, valueSize, limit, visitor);
    }

    static int delete(BpfMap map, List<FlowTuple> keys) throws NativeException {
        return BpfMapBatch.delete(map, FlowTuple.SIZE, keys.stream().map(FlowTuple::encode).toList());
    }
}
