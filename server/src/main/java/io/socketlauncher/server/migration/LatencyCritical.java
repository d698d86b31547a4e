package io.socketlauncher.server.migration;

import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.ThreadScheduling;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The threads a client's segments wait on during a migration (the source's migration, the target's agent
 * connections, the hold plane's reader, the repair agent) run under SCHED_FIFO when the process may: on a busy host
 * an ordinary thread waits milliseconds for a CPU now and then, and a hold longer than the client's loss-probe timer
 * (2 RTT + 2 jiffies, about 8 ms) costs a retransmission. These threads block between their short bursts of work;
 * none of them spins while it is real-time. System property {@code socketlauncher.rtprio}: the priority (default
 * 10), 0 to keep every thread ordinary.
 */
public final class LatencyCritical {
    private static final System.Logger LOG = System.getLogger(LatencyCritical.class.getName());
    static final int PRIORITY = Integer.getInteger("socketlauncher.rtprio", 10);
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static volatile boolean refused;

    private LatencyCritical() {}

    /** Raises the calling thread; returns whether it is real-time now (false without the privilege, said once). */
    public static boolean enter() {
        if (PRIORITY == 0 || refused) return false;
        try {
            ThreadScheduling.fifo(PRIORITY);
            return true;
        } catch (NativeException e) {
            refused = true;
            if (WARNED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.INFO, "migration threads stay ordinary (" + e.getMessage() + "): on a busy host a "
                        + "hold may outlast the client's loss-probe timer now and then");
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
            LOG.log(System.Logger.Level.WARNING, "cannot return a migration thread to SCHED_OTHER: " + e.getMessage());
        }
    }
}
