package io.socketlauncher.bpf.hold;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Constructor;

/**
 * Opens a BPF ELF image into a {@link BpfObject}. Needed while the native layer's descriptor of
 * bpf_object__open_mem lacks its buffer argument (every {@link BpfObject#open} fails with a
 * WrongMethodTypeException); delete this class and call {@link BpfObject#openResource} once it is fixed.
 */
final class ElfOpen {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle OPEN_MEM = LINKER.downcallHandle(
            SymbolLookup.libraryLookup("libbpf.so.1", Arena.global()).find("bpf_object__open_mem").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, ADDRESS), Linker.Option.captureCallState("errno"));
    private static final VarHandle ERRNO = Linker.Option.captureStateLayout()
            .varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    private ElfOpen() {}

    static BpfObject openResource(String resource) throws NativeException {
        byte[] elf;
        try (var in = ElfOpen.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("BPF object " + resource + " is not on the class path (was it built?)");
            elf = in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot read BPF object " + resource, e);
        }
        MemorySegment object;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocate(elf.length, 8);
            MemorySegment.copy(elf, 0, image, JAVA_BYTE, 0, elf.length);
            MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            object = (MemorySegment) OPEN_MEM.invokeExact(state, image, (long) elf.length, MemorySegment.NULL);
            errno = (int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw new AssertionError("bpf_object__open_mem failed to link or run: " + t, t);
        }
        if (object.equals(MemorySegment.NULL)) throw new NativeException("bpf_object__open_mem(" + resource + ")", errno);
        try {
            Constructor<BpfObject> c = BpfObject.class.getDeclaredConstructor(MemorySegment.class, String.class);
            c.setAccessible(true);
            return c.newInstance(object, resource);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("BpfObject changed shape: " + e, e);
        }
    }

}
