package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * A BPF ELF object (compiled by clang at build time), opened from bytes and loaded into the kernel.
 * Maps and programs are configured between {@link #open} and {@link #load}: pin paths, sizes, types.
 * Closing it releases the program and map fds; pinned maps and links stay in bpffs.
 */
public final class BpfObject implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment object;
    private final String name;
    private final Map<String, BpfMap> maps = new HashMap<>();
    private final Map<String, BpfProgram> programs = new HashMap<>();
    private boolean closed;

    private BpfObject(Arena arena, MemorySegment object, String name) {
        this.arena = arena;
        this.object = object;
        this.name = name;
    }

    /** Opens an ELF image held in memory, typically a class-path resource. */
    public static BpfObject open(String name, byte[] elf) throws NativeException {
        // libelf reads the image in place, so it lives as long as the object.
        Arena arena = Arena.ofShared();
        MemorySegment image = arena.allocate(elf.length, 8);
        MemorySegment.copy(elf, 0, image, JAVA_BYTE, 0, elf.length);
        Libc.Scratch s = Libc.scratch();
        MemorySegment obj;
        try {
            obj = (MemorySegment) Libbpf.OBJECT_OPEN_MEM.invokeExact(s.errno, image, (long) elf.length, MemorySegment.NULL);
        } catch (Throwable t) {
            arena.close();
            throw Libc.linkageFailure(t);
        }
        if (obj.equals(MemorySegment.NULL)) {
            NativeException e = Libc.error("bpf_object__open_mem(" + name + ")", s);
            arena.close();
            throw e;
        }
        return new BpfObject(arena, obj, name);
    }

    /** Opens a class-path resource such as {@code /bpf/proxy.bpf.o}. */
    public static BpfObject openResource(Class<?> anchor, String resource) throws NativeException {
        try (var in = anchor.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("BPF object " + resource + " is not on the class path (was it built?)");
            return open(resource, in.readAllBytes());
        } catch (java.io.IOException e) {
            if (e instanceof NativeException n) throw n;
            throw new IllegalStateException("cannot read BPF object " + resource, e);
        }
    }

    public void load() throws NativeException {
        int r;
        try {
            r = (int) Libbpf.OBJECT_LOAD.invokeExact(object);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        Libbpf.check("bpf_object__load(" + name + ")", r);
    }

    public BpfMap map(String mapName) {
        return maps.computeIfAbsent(mapName, n -> {
            MemorySegment map = find(Libbpf.FIND_MAP, n);
            if (map.equals(MemorySegment.NULL)) throw new IllegalArgumentException(name + " has no map " + n);
            return new BpfMap(map, n);
        });
    }

    public BpfProgram program(String programName) {
        return programs.computeIfAbsent(programName, n -> {
            MemorySegment program = find(Libbpf.FIND_PROGRAM, n);
            if (program.equals(MemorySegment.NULL)) throw new IllegalArgumentException(name + " has no program " + n);
            return new BpfProgram(program, n);
        });
    }

    private MemorySegment find(java.lang.invoke.MethodHandle finder, String item) {
        try (Arena name = Arena.ofConfined()) {
            return (MemorySegment) finder.invokeExact(object, name.allocateFrom(item));
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            Libbpf.OBJECT_CLOSE.invokeExact(object);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        arena.close();
    }

    @Override
    public String toString() {
        return "BPF object " + name;
    }
}
