package io.socketlauncher.sys;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one policy for threads a client's segments wait on (a migration's threads, the proxy's answer to a
 * redirect): they run under SCHED_FIFO when the process may, because on a busy host an ordinary thread waits
 * milliseconds for a CPU now and then, and a stall longer than the client's loss-probe timer (2 RTT + 2 jiffies,
 * about 8 ms) costs a retransmission. Such a thread must block between its short bursts of work and never spin
 * while it is real-time: it would starve every ordinary thread on its CPU.
 *
 * <p>System property {@value #PROPERTY}: the priority (1-99, default 10), 0 to keep every thread ordinary.
 * Without the privilege (CAP_SYS_NICE or an RLIMIT_RTPRIO) threads stay ordinary; that is said once per process.
 */
public final class RealTimeThreads {
    private static final String PROPERTY = "socketlauncher.rtprio";
    private static final System.Logger LOG = System.getLogger(RealTimeThreads.class.getName());
    private static final int PRIORITY = Integer.getInteger(PROPERTY, 10);
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static volatile boolean refused;

    private RealTimeThreads() {}

    /**
     * Raises the calling platform thread; returns whether it is real-time now. A virtual thread stays as it is: the
     * policy would stick to whichever carrier thread it happens to run on.
     */
    public static boolean enter() {
        if (PRIORITY == 0 || refused || Thread.currentThread().isVirtual()) return false;
        try {
            ThreadScheduling.fifo(PRIORITY);
            return true;
        } catch (NativeException e) {
            refused = true;
            if (WARNED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.INFO, "latency-critical threads stay ordinary (" + e.getMessage() + "): on a busy"
                        + " host a migrating client may now and then wait milliseconds for an ACK");
            }
            return false;
        }
    }

    /** Back to an ordinary thread after {@link #enter} returned true. */
    public static void leave(boolean entered) {
        if (!entered) return;
        try {
            ThreadScheduling.normal();
        } catch (NativeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot return a latency-critical thread to SCHED_OTHER: " + e.getMessage());
        }
    }
}
