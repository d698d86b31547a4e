package io.socketlauncher.server.migration;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.SocketCalls;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.locks.LockSupport;

/**
 * The source's short wait after the proxy re-pointed the flow and the source started forwarding it: segments
 * that passed the interface before that may still be on their way through the stack into the socket. The hold
 * program counted the segments it passed to the stack since HOLDING, so the wait ends as soon as the socket's
 * count of received segments (tcpi_segs_in, counted from the same moment) has caught up, plus a few microseconds
 * for a segment whose count the program was still adding as it was switched to forwarding. Without that count
 * (the flow was still being handed over here after its arrival, or it was busy as counting began, or a segment
 * was dropped on its way and the socket never catches up) the wait ends once tcpi_segs_in stops moving for the
 * quiet period.
 */
final class Drain {
    private static final int TCPI_SEGS_IN = 140;
    /** From the program's decision to the socket is one softirq pass: microseconds. */
    static final long SETTLE_NANOS = 10_000;
    private static final VarHandle NATIVE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.nativeOrder());
    /** A real-time thread's timer has no slack: it sleeps about this long. */
    private static final long PARK_NANOS = 2_000;

    private Drain() {}

    /**
     * Returns once the socket has caught up; gives up quietly after {@code maxNanos} (forwarding covers the rest).
     *
     * @param expected the tcpi_segs_in value at which every counted segment is in, or -1 if not counted
     */
    static void await(int fd, long expected, long quietNanos, long maxNanos, boolean realtime) throws NativeException {
        long start = System.nanoTime();
        byte[] info = new byte[TCPI_SEGS_IN + 4]; // one for every poll: the drain reads it every few microseconds
        long last = segmentsIn(fd, info);
        long stableSince = start;
        while (true) {
            long now = System.nanoTime();
            long quiet = now - stableSince;
            boolean caughtUp = expected >= 0 && last >= 0 && (int) (last - expected) >= 0; // tcpi_segs_in is a u32
            if ((caughtUp && quiet >= SETTLE_NANOS) || quiet >= quietNanos || now - start >= maxNanos) return;
            // A real-time thread must not spin: the softirq that brings the segments may be waiting for this CPU.
            if (realtime) LockSupport.parkNanos(PARK_NANOS);
            else Thread.onSpinWait();
            long segments = segmentsIn(fd, info);
            if (segments != last) {
                last = segments;
                stableSince = System.nanoTime();
            }
        }
    }

    /** tcpi_segs_in, or -1 on a kernel too old to have it. */
    static long segmentsIn(int fd) throws NativeException {
        return segmentsIn(fd, new byte[TCPI_SEGS_IN + 4]);
    }

    /** {@link #segmentsIn(int)} read into {@code info} (TCPI_SEGS_IN + 4 bytes), allocating nothing. */
    private static long segmentsIn(int fd, byte[] info) throws NativeException {
        if (SocketCalls.getsockopt(fd, Libc.SOL_TCP, Libc.TCP_INFO, info) < info.length) return -1;
        return Integer.toUnsignedLong((int) NATIVE_INT.get(info, TCPI_SEGS_IN));
    }
}
