package io.socketlauncher.server.migration;

import io.socketlauncher.sys.RealTimeThreads;

/**
 * The threads a client's segments wait on during a migration (the source's migration, the target's agent
 * connections, the hold plane's reader, the repair agent) run under SCHED_FIFO when the process may, by the policy
 * the proxy's control connections share ({@link RealTimeThreads}, system property {@code socketlauncher.rtprio}).
 * These threads block between their short bursts of work; none of them spins while it is real-time.
 */
public final class LatencyCritical {
    private LatencyCritical() {}

    /** Raises the calling thread; returns whether it is real-time now (false without the privilege, said once). */
    public static boolean enter() {
        return RealTimeThreads.enter("on a busy host a hold may outlast the client's loss-probe timer now and then");
    }

    /** Back to an ordinary thread after {@link #enter} returned true. */
    public static void leave(boolean entered) {
        RealTimeThreads.leave(entered);
    }
}
