package io.socketlauncher.proxy;

import io.socketlauncher.bpf.proxy.Flow;
import io.socketlauncher.bpf.proxy.FlowTuple;
import io.socketlauncher.bpf.proxy.FlowsMap;
import io.socketlauncher.sys.NativeException;
import java.util.List;
import java.util.Map;

/**
 * When the proxy forgets a flow: idle for {@code idleNanos}, or closing (a FIN or RST seen) and quiet for
 * {@code graceNanos}. Times are CLOCK_MONOTONIC nanoseconds, the data plane's clock and {@link System#nanoTime}'s.
 */
record FlowExpiry(long idleNanos, long graceNanos) {
    FlowExpiry {
        if (idleNanos <= 0 || graceNanos <= 0) throw new IllegalArgumentException("idle and grace times must be positive");
    }

    boolean expired(Flow f, long now) {
        long quiet = now - f.lastSeenNanos();
        return quiet > idleNanos || (f.closing() && quiet > graceNanos);
    }

    /**
     * Deletes the flows of {@code candidates}, found expired by a walk of the table, that are still expired now, and
     * returns those deleted with the entry each had. A walk of a large table takes milliseconds, and meanwhile the
     * data plane may have learned a new connection on a closed flow's 5-tuple (a client port reused) or seen a packet
     * of an idle one: deleting by the walk's verdict would cut that connection (its packets dropped, the server's
     * replies passed on without NAT, which the client answers with a reset). So each entry is read again just before
     * its delete, which leaves a window of one system call instead of the walk's.
     */
    Map<FlowTuple, Flow> removeStillExpired(FlowsMap flows, List<FlowTuple> candidates) throws NativeException {
        return flows.removeIf(candidates, f -> expired(f, System.nanoTime()));
    }
}
