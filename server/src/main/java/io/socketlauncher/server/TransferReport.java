package io.socketlauncher.server;

/**
 * How a successful transfer went, in nanoseconds from {@code transfer()} called, in the order of the steps: when the
 * target held the flow (HOLDING; the REDIRECT to the proxy leaves right after), when the drain ended, when the state
 * was captured, when the proxy's confirmation of the re-pointing was taken (REDIRECTED), when the target confirmed it
 * serves the client (XFERED). From HOLDING on, the client's segments wait in the target's hold (those reaching the
 * source are forwarded there): {@link #holdNanos()} is what the client may notice.
 */
public record TransferReport(String peer, long preparedNanos, long drainedNanos, long capturedNanos, long redirectedNanos,
                             long transferredNanos) {
    /** How long each step took, in the order above: prepare, drain, capture, the wait for REDIRECTED, XFER. */
    public long[] stepNanos() {
        return new long[] {preparedNanos, drainedNanos - preparedNanos, capturedNanos - drainedNanos,
                redirectedNanos - capturedNanos, transferredNanos - redirectedNanos};
    }

    /** From the target's hold to its confirmation of the restore and release. */
    public long holdNanos() {
        return transferredNanos - preparedNanos;
    }
}
