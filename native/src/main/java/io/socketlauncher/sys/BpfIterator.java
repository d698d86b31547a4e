package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Runs a loaded BPF iterator program (SEC("iter/...")) once: link it, open an iterator, read it to the
 * end, close both. Iterators over sockets walk the network namespace of the calling thread, so run
 * this on a thread inside the namespace of interest ({@link NetworkNamespace#call}).
 */
public final class BpfIterator {
    private static final int BPF_TRACE_ITER = 28;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBBPF = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());
    private static final MethodHandle LINK_CREATE = LINKER.downcallHandle(LIBBPF.find("bpf_link_create").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle ITER_CREATE = LINKER.downcallHandle(LIBBPF.find("bpf_iter_create").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = LINKER.downcallHandle(LINKER.defaultLookup().find("read").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), Linker.Option.captureCallState("errno"));
    private static final VarHandle ERRNO = Linker.Option.captureStateLayout().varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private BpfIterator() {
    }

    /** Runs the iterator program to its end; returns how many bytes it wrote with bpf_seq_printf and friends. */
    public static long run(BpfProgram program) throws NativeException {
        int link, iterator;
        try {
            link = (int) LINK_CREATE.invokeExact(program.fd(), 0, BPF_TRACE_ITER, MemorySegment.NULL);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (link < 0) throw new NativeException("bpf_link_create(" + program.name() + ", BPF_TRACE_ITER)", -link);
        try {
            try {
                iterator = (int) ITER_CREATE.invokeExact(link);
            } catch (Throwable t) {
                throw Libc.linkageFailure(t);
            }
            if (iterator < 0) throw new NativeException("bpf_iter_create(" + program.name() + ")", -iterator);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buffer = arena.allocate(4096);
                MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
                long total = 0;
                while (true) {
                    long n;
                    try {
                        n = (long) READ.invokeExact(state, iterator, buffer, 4096L);
                    } catch (Throwable t) {
                        throw Libc.linkageFailure(t);
                    }
                    if (n == 0) return total;
                    if (n < 0) {
                        int errno = (int) ERRNO.get(state, 0L);
                        if (errno == Errno.EINTR || errno == Errno.EAGAIN) continue;
                        throw new NativeException("read(bpf iterator " + program.name() + ")", errno);
                    }
                    total += n;
                }
            } finally {
                Libc.closeQuietly(iterator);
            }
        } finally {
            Libc.closeQuietly(link);
        }
    }
}
