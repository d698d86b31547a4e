package io.socketlauncher.server;

/**
 * How a successful transfer went, in nanoseconds from {@code transfer()} called: when the target held the flow
 * (HOLDING), when the proxy confirmed the re-pointing (REDIRECTED), when the drain ended, when the state was
 * captured, when the target confirmed it serves the client (XFERED). Between REDIRECTED and XFERED the client's
 * segments wait in the target's hold: {@link #holdNanos()} is what the client may notice.
 */
public record TransferReport(String peer, long preparedNanos, long redirectedNanos, long drainedNanos, long capturedNanos,
                             long transferredNanos) {
    /** From the proxy's confirmation of the redirect to the target's confirmation of the restore and release. */
    public long holdNanos() {
        return transferredNanos - redirectedNanos;
    }
}
