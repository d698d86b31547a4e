package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/**
 * A thread's scheduling policy ({@code sched_setscheduler} on a thread id; 0 is the calling thread): a thread
 * whose latency the outside world sees (a client's segments wait while it works) can run under SCHED_FIFO, ahead of
 * every ordinary thread of the host, as long as it blocks rather than spins. Needs CAP_SYS_NICE (or an RLIMIT_RTPRIO).
 */
public final class ThreadScheduling {
    private static final int SCHED_OTHER = 0, SCHED_FIFO = 1;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SCHED_SETSCHEDULER = LINKER.downcallHandle(
            LINKER.defaultLookup().find("sched_setscheduler").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), Linker.Option.captureCallState("errno"));
    private ThreadScheduling() {}

    /** Moves the calling thread to SCHED_FIFO at {@code priority} (1-99). */
    public static void fifo(int priority) throws NativeException {
        fifo(0, priority);
    }

    /** Moves thread {@code tid} of this process (0: the calling thread) to SCHED_FIFO at {@code priority} (1-99). */
    public static void fifo(int tid, int priority) throws NativeException {
        if (priority < 1 || priority > 99) throw new IllegalArgumentException("SCHED_FIFO priority must be 1-99, not " + priority);
        if (tid < 0) throw new IllegalArgumentException("no thread id " + tid);
        set(tid, SCHED_FIFO, priority, "SCHED_FIFO " + priority);
    }

    /** Moves the calling thread back to SCHED_OTHER. */
    public static void normal() throws NativeException {
        set(0, SCHED_OTHER, 0, "SCHED_OTHER");
    }

    private static void set(int tid, int policy, int priority, String what) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        s.len.set(JAVA_INT, 0, priority); // struct sched_param is one int
        int r;
        try {
            r = (int) SCHED_SETSCHEDULER.invokeExact(s.errno, tid, policy, s.len);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error("sched_setscheduler(" + (tid == 0 ? "" : "thread " + tid + ", ") + what + ")", s);
    }
}
