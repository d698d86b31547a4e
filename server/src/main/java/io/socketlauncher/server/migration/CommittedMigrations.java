package io.socketlauncher.server.migration;

/**
 * The ids of the migrations a target committed within the last {@code keepNanos}: a source that missed XFERED asks
 * with XFER_ABORT and must hear "committed", or it would resume a socket the target already serves. At thousands of
 * migrations a second that is tens of thousands of ids, kept in two primitive arrays (in commit order) rather than
 * an object or two each: kept as objects for the guard time, they survived young collection after young collection
 * and each pause copied them all (young pauses of 13-18 ms at p50 in the demo, against 1.5 ms with the ids alone).
 * Asking is rare (a source that timed out), so {@link #contains} scans.
 */
final class CommittedMigrations {
    private final long keepNanos;
    private long[] ids = new long[1024], times = new long[1024];
    /** The oldest entry's index, and how many there are. */
    private int head, size;

    CommittedMigrations(long keepNanos) {
        if (keepNanos <= 0) throw new IllegalArgumentException("keep time must be positive: " + keepNanos);
        this.keepNanos = keepNanos;
    }

    /** Remembers {@code id}, committed at {@code now} ({@link System#nanoTime}), and forgets those older than the keep time. */
    synchronized void add(long id, long now) {
        forgetOld(now);
        if (size == ids.length) grow();
        int at = (head + size) % ids.length;
        ids[at] = id;
        times[at] = now;
        size++;
    }

    /** Whether {@code id} was committed within the keep time before {@code now}. */
    synchronized boolean contains(long id, long now) {
        forgetOld(now);
        for (int i = 0; i < size; i++) {
            if (ids[(head + i) % ids.length] == id) return true;
        }
        return false;
    }

    synchronized int size() {
        return size;
    }

    private void forgetOld(long now) {
        while (size > 0 && now - times[head] > keepNanos) {
            head = (head + 1) % ids.length;
            size--;
        }
    }

    /** Doubles the arrays, the oldest entry first: nothing within the keep time is forgotten for want of room. */
    private void grow() {
        long[] moreIds = new long[ids.length * 2], moreTimes = new long[ids.length * 2];
        for (int i = 0; i < size; i++) {
            moreIds[i] = ids[(head + i) % ids.length];
            moreTimes[i] = times[(head + i) % ids.length];
        }
        ids = moreIds;
        times = moreTimes;
        head = 0;
    }
}
