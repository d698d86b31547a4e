package io.socketlauncher.server.migration;

import java.time.Duration;
import java.util.Objects;

/**
 * The bound of every step of a migration.
 *
 * @param prepare   XFER_PREPARE until HOLDING
 * @param redirect  REDIRECT until REDIRECTED
 * @param transfer  XFER until XFERED (restore and release at the target included)
 * @param rollback  how long the source keeps trying to point the flow back at itself after a failure
 * @param guard     how long a target holds a flow without hearing from the source before it gives the hold up; it
 *                  must outlast about the longest a source takes before its last word about the hold (the prepare,
 *                  the redirect, the transfer, asking whether the target committed, the rollback)
 * @param drainQuiet the drain ends once the socket received nothing for this long ...
 * @param drainMax  ... or after this long in any case
 * @param forwardLinger how long the source forwards a moved flow's late segments to the target
 */
public record MigrationTimeouts(Duration prepare, Duration redirect, Duration transfer, Duration rollback,
                                Duration guard, Duration drainQuiet, Duration drainMax, Duration forwardLinger) {
    /**
     * The bound of {@code drainQuiet} and {@code drainMax}: a drain waits microseconds, milliseconds at worst. Declared
     * before {@link #DEFAULTS}, whose construction checks it.
     */
    public static final Duration MAX_DRAIN = Duration.ofSeconds(10);

    public static final MigrationTimeouts DEFAULTS = new MigrationTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2),
            Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofNanos(100_000),
            Duration.ofMillis(10), Duration.ofSeconds(2));

    public MigrationTimeouts {
        for (Duration d : new Duration[] {prepare, redirect, transfer, rollback, guard, drainQuiet, drainMax, forwardLinger}) {
            Objects.requireNonNull(d, "timeout");
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException("timeouts must be positive: " + d);
        }
        if (drainQuiet.compareTo(MAX_DRAIN) > 0 || drainMax.compareTo(MAX_DRAIN) > 0) {
            throw new IllegalArgumentException("a drain waits microseconds, milliseconds at worst: drainQuiet (" + drainQuiet
                    + ") and drainMax (" + drainMax + ") must be at most " + MAX_DRAIN);
        }
        if (guard.compareTo(prepare.multipliedBy(2).plus(redirect).plus(transfer).plus(rollback)) <= 0) {
            throw new IllegalArgumentException("the target's guard (" + guard + ") must outlast 2 x prepare + redirect + transfer"
                    + " + rollback, the longest a source may take before it tells the target what becomes of its hold");
        }
    }
}
