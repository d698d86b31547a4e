package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.util.function.BiConsumer;

/** Iteration over a hash map by get_next_key + lookup, tolerant of entries deleted meanwhile. */
final class MapWalk {
    private MapWalk() {}

    static int walk(BpfMap map, int keySize, int valueSize, int limit, BiConsumer<byte[], byte[]> visitor) throws NativeException {
        byte[] key = null;
        int seen = 0;
        while (seen < limit) {
            byte[] next = new byte[keySize];
            if (!map.nextKey(key, next)) break;
            byte[] value = new byte[valueSize];
            if (map.lookup(next, value)) {
                visitor.accept(next, value);
                seen++;
            }
            key = next;
        }
        return seen;
    }
}
