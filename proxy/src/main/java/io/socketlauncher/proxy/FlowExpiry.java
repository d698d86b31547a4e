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
     * Deletes those of {@code candidates} (a walk's verdict, milliseconds old) still expired when read again, and returns
     * them with their entries: a client port reused meanwhile is a new connection ({@link FlowsMap#removeIf}).
     */
    Map<FlowTuple, Flow> removeStillExpired(FlowsMap flows, List<FlowTuple> candidates) throws NativeException {
        return flows.removeIf(candidates, f -> expired(f, System.nanoTime()));
    }
}
