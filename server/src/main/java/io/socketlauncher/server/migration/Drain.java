package io.socketlauncher.server.migration;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The source's short wait after the proxy re-pointed the flow and the source started forwarding it: segments
 * that passed the interface before that may still be on their way through the stack into the socket. They are
 * done when the socket's count of received segments (tcpi_segs_in) stops moving.
 */
final class Drain {
    private static final int TCPI_SEGS_IN = 140;

    private Drain() {}

    /** Returns the nanoseconds waited; gives up quietly after {@code maxNanos} (forwarding covers the rest). */
    static long await(int fd, long quietNanos, long maxNanos) throws NativeException {
        long start = System.nanoTime();
        long last = segmentsIn(fd);
        long stableSince = start;
        while (true) {
            long now = System.nanoTime();
            if (now - stableSince >= quietNanos || now - start >= maxNanos) return now - start;
            Thread.onSpinWait();
            long segments = segmentsIn(fd);
            if (segments != last) {
                last = segments;
                stableSince = System.nanoTime();
            }
        }
    }

    private static long segmentsIn(int fd) throws NativeException {
        byte[] info = Libc.getsockopt(fd, Libc.SOL_TCP, Libc.TCP_INFO, TCPI_SEGS_IN + 4);
        if (info.length < TCPI_SEGS_IN + 4) return -1; // an old kernel: the quiet period alone decides
        return Integer.toUnsignedLong(ByteBuffer.wrap(info).order(ByteOrder.nativeOrder()).getInt(TCPI_SEGS_IN));
    }
}
