package io.socketlauncher.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A BPF map, either from a loaded {@link BpfObject} or opened from its bpffs pin. Keys and values are
 * byte arrays in the kernel's layout; the typed views in the {@code bpf} module give them meaning.
 * Per-CPU maps take and return one value slot per possible CPU, each rounded up to 8 bytes.
 */
public final class BpfMap {
    public static final long ANY = 0, NO_EXIST = 1, EXIST = 2;

    private final MemorySegment map;
    private final String name;
    private final int pinnedFd;

    BpfMap(MemorySegment map, String name) {
        this.map = map;
        this.name = name;
        this.pinnedFd = -1;
    }

    private BpfMap(int fd, String name) {
        this.map = MemorySegment.NULL;
        this.name = name;
        this.pinnedFd = fd;
    }

    /** Opens a map pinned in bpffs, e.g. one a previous command left there. */
    public static BpfMap openPinned(String path) throws NativeException {
        return new BpfMap(BpfProgram.objGet(path), path);
    }

    public static int possibleCpus() {
        return Libbpf.possibleCpus();
    }

    public String name() {
        return name;
    }

    public int fd() {
        if (pinnedFd >= 0) return pinnedFd;
        try {
            return (int) Libbpf.MAP_FD.invokeExact(map);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    /** Before load: pin the map at {@code path}, or reuse the map already pinned there. */
    public void setPinPath(String path) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) Libbpf.MAP_SET_PIN_PATH.invokeExact(map, arena.allocateFrom(path));
            Libbpf.check("bpf_map__set_pin_path(" + name + ")", r);
        } catch (NativeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    /** Before load: size the map. */
    public void setMaxEntries(int entries) throws NativeException {
        int r;
        try {
            r = (int) Libbpf.MAP_SET_MAX_ENTRIES.invokeExact(map, entries);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        Libbpf.check("bpf_map__set_max_entries(" + name + ")", r);
    }

    /** Before load: use an existing map (same definition) instead of creating one. */
    public void reuseFd(int fd) throws NativeException {
        int r;
        try {
            r = (int) Libbpf.MAP_REUSE_FD.invokeExact(map, fd);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        Libbpf.check("bpf_map__reuse_fd(" + name + ")", r);
    }

    public void update(byte[] key, byte[] value, long flags) throws NativeException {
        int r;
        try {
            r = (int) Libbpf.MAP_UPDATE.invokeExact(fd(), MemorySegment.ofArray(key), MemorySegment.ofArray(value), flags);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        Libbpf.check("bpf_map_update_elem(" + name + ")", r);
    }

    /** Fills {@code value}; false when the key is absent. */
    public boolean lookup(byte[] key, byte[] value) throws NativeException {
        int r;
        try {
            r = (int) Libbpf.MAP_LOOKUP.invokeExact(fd(), MemorySegment.ofArray(key), MemorySegment.ofArray(value));
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r == -Errno.ENOENT) return false;
        Libbpf.check("bpf_map_lookup_elem(" + name + ")", r);
        return true;
    }

    /** False when the key was absent. */
    public boolean delete(byte[] key) throws NativeException {
        int r;
        try {
            r = (int) Libbpf.MAP_DELETE.invokeExact(fd(), MemorySegment.ofArray(key));
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r == -Errno.ENOENT) return false;
        Libbpf.check("bpf_map_delete_elem(" + name + ")", r);
        return true;
    }

    /** Iteration: {@code key} null for the first key. Fills {@code next}; false after the last key. */
    public boolean nextKey(byte[] key, byte[] next) throws NativeException {
        int r;
        try {
            MemorySegment current = key == null ? MemorySegment.NULL : MemorySegment.ofArray(key);
            r = (int) Libbpf.MAP_NEXT_KEY.invokeExact(fd(), current, MemorySegment.ofArray(next));
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r == -Errno.ENOENT) return false;
        Libbpf.check("bpf_map_get_next_key(" + name + ")", r);
        return true;
    }

    public void pin(String path) throws NativeException {
        BpfProgram.objPin(fd(), path);
    }

    /** Releases the fd of a map opened from its pin; maps of a {@link BpfObject} close with it. */
    public void closePinned() {
        Libc.closeQuietly(pinnedFd);
    }

    @Override
    public String toString() {
        return "BPF map " + name;
    }
}
