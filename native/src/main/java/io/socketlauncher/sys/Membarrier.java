package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/**
 * {@code membarrier(MEMBARRIER_CMD_GLOBAL)}: returns after an RCU grace period, i.e. once every CPU has
 * left whatever it was running in kernel context when the call began. After a BPF map update, that
 * means no packet is still being handled under the map's old contents: each one that saw them has
 * reached its socket (or its socket's backlog) or been dropped.
 */
public final class Membarrier {
    private static final long SYS_MEMBARRIER = 324; // x86_64
    private static final int MEMBARRIER_CMD_GLOBAL = 1;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(LINKER.defaultLookup().find("syscall").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));

    private Membarrier() {}

    public static void global() throws NativeException {
        Libc.Scratch s = Libc.scratch();
        long r;
        try {
            r = (long) SYSCALL.invokeExact(s.errno, SYS_MEMBARRIER, MEMBARRIER_CMD_GLOBAL, 0, 0);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error("membarrier(MEMBARRIER_CMD_GLOBAL)", s);
    }
}
