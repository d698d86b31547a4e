package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Batched map operations (bpf_map_lookup_batch / _update_batch / _delete_batch, since Linux 5.6): one
 * syscall reads or deletes thousands of entries, where {@link BpfMap#nextKey} plus {@link BpfMap#lookup}
 * cost two syscalls per entry. Values are read as the kernel lays them out; for per-CPU maps that is one
 * 8-byte-aligned slot per possible CPU, which callers must include in {@code valueSize}.
 */
public final class BpfMapBatch {
    /** Entries asked for per lookup call; a hash bucket never holds nearly as many. */
    static final int CHUNK = 4096;
    /** struct bpf_map_batch_opts { size_t sz; __u64 elem_flags; __u64 flags; } */
    private static final long OPTS_SIZE = 24;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBBPF = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());
    private static final MethodHandle LOOKUP_BATCH = LINKER.downcallHandle(LIBBPF.find("bpf_map_lookup_batch").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle UPDATE_BATCH = LINKER.downcallHandle(LIBBPF.find("bpf_map_update_batch").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle DELETE_BATCH = LINKER.downcallHandle(LIBBPF.find("bpf_map_delete_batch").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));

    private BpfMapBatch() {}

    /**
     * Visits up to {@code limit} entries of a hash map, a chunk of buckets per syscall; each bucket is read
     * atomically, entries added or deleted meanwhile may or may not be seen. Returns how many were visited.
     */
    public static int forEach(BpfMap map, int keySize, int valueSize, int limit, BiConsumer<byte[], byte[]> visitor) throws NativeException {
        if (keySize <= 0 || valueSize <= 0) throw new IllegalArgumentException("key and value sizes must be positive");
        if (limit <= 0) return 0;
        int chunk = CHUNK;
        int seen = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = options(arena);
            // The batch token of a hash map is a bucket index; 8 bytes cover every map type's token.
            MemorySegment in = arena.allocate(8), out = arena.allocate(8), count = arena.allocate(JAVA_INT);
            MemorySegment keys = arena.allocate((long) keySize * chunk), values = arena.allocate((long) valueSize * chunk);
            boolean first = true;
            while (seen < limit) {
                count.set(JAVA_INT, 0, chunk);
                MemorySegment from = first ? MemorySegment.NULL : in;
                int r;
                try {
                    r = (int) LOOKUP_BATCH.invokeExact(map.fd(), from, out, keys, values, count, opts);
                } catch (Throwable t) {
                    throw Libc.linkageFailure(t);
                }
                int n = count.get(JAVA_INT, 0);
                if (r == -Errno.ENOSPC && n == 0) {
                    // A bucket holds more entries than the buffers: grow them and read the same buckets again.
                    chunk *= 2;
                    keys = arena.allocate((long) keySize * chunk);
                    values = arena.allocate((long) valueSize * chunk);
                    continue;
                }
                boolean last = r == -Errno.ENOENT;
                if (r < 0 && !last) throw new NativeException("bpf_map_lookup_batch(" + map.name() + ")", -r);
                for (int i = 0; i < n && seen < limit; i++, seen++) {
                    visitor.accept(keys.asSlice((long) i * keySize, keySize).toArray(JAVA_BYTE),
                            values.asSlice((long) i * valueSize, valueSize).toArray(JAVA_BYTE));
                }
                if (last) break;
                MemorySegment.copy(out, 0, in, 0, 8);
                first = false;
            }
        }
        return seen;
    }

    /**
     * Deletes {@code keys} (each {@code keySize} bytes) in as few syscalls as possible; keys already gone
     * (an LRU eviction, a concurrent delete) are skipped. Returns how many entries this call deleted.
     */
    public static int delete(BpfMap map, int keySize, List<byte[]> keys) throws NativeException {
        if (keys.isEmpty()) return 0;
        int deleted = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = options(arena);
            MemorySegment all = arena.allocate((long) keySize * keys.size());
            for (int i = 0; i < keys.size(); i++) {
                byte[] k = keys.get(i);
                if (k.length != keySize) throw new IllegalArgumentException("key " + i + " has " + k.length + " bytes, not " + keySize);
                MemorySegment.copy(k, 0, all, JAVA_BYTE, (long) i * keySize, keySize);
            }
            MemorySegment count = arena.allocate(JAVA_INT);
            int done = 0;
            while (done < keys.size()) {
                count.set(JAVA_INT, 0, keys.size() - done);
                int r;
                try {
                    r = (int) DELETE_BATCH.invokeExact(map.fd(), all.asSlice((long) done * keySize), count, opts);
                } catch (Throwable t) {
                    throw Libc.linkageFailure(t);
                }
                int n = count.get(JAVA_INT, 0);
                deleted += n;
                done += n;
                if (r == 0) break;
                // The kernel stops at the first key it cannot delete; a vanished key is no failure: skip it.
                if (r != -Errno.ENOENT) throw new NativeException("bpf_map_delete_batch(" + map.name() + ")", -r);
                done++;
            }
        }
        return deleted;
    }

    /**
     * Writes {@code count} entries, keys and values packed back to back in the kernel's layout, with
     * {@code elemFlags} (BpfMap.ANY / NO_EXIST / EXIST) for each. The kernel updates them one by one, each
     * as atomically as a single update; a failure stops it there and is thrown, naming how many went in.
     */
    public static void update(BpfMap map, byte[] keys, byte[] values, int count, long elemFlags) throws NativeException {
        if (count < 0 || keys.length % Math.max(1, count) != 0 || values.length % Math.max(1, count) != 0) {
            throw new IllegalArgumentException(count + " entries do not divide " + keys.length + " key bytes and " + values.length + " value bytes");
        }
        if (count == 0) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = options(arena);
            opts.set(JAVA_LONG, 8, elemFlags);
            MemorySegment k = arena.allocate(keys.length), v = arena.allocate(values.length), n = arena.allocate(JAVA_INT);
            MemorySegment.copy(keys, 0, k, JAVA_BYTE, 0, keys.length);
            MemorySegment.copy(values, 0, v, JAVA_BYTE, 0, values.length);
            n.set(JAVA_INT, 0, count);
            int r;
            try {
                r = (int) UPDATE_BATCH.invokeExact(map.fd(), k, v, n, opts);
            } catch (Throwable t) {
                throw Libc.linkageFailure(t);
            }
            if (r < 0) {
                throw new NativeException("bpf_map_update_batch(" + map.name() + ", " + n.get(JAVA_INT, 0) + " of " + count + " written)", -r);
            }
        }
    }

    private static MemorySegment options(Arena arena) {
        MemorySegment opts = arena.allocate(OPTS_SIZE, 8);
        opts.set(JAVA_LONG, 0, OPTS_SIZE);
        return opts;
    }
}
