package io.socketlauncher.server.migration;

import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Channels kept open between migrations, for {@link PeerLink} (a peer's agent) and {@link ProxyLink} (the proxy):
 * opening one costs a connect and a handshake while a client waits. Most recently used first: one migration at a
 * time keeps taking the same channel, whose threads at both ends are the ones warm in the caches and in the
 * scheduler's view, and upkeep leaves that order as it found it. Channels are opened on the calling thread, so in its
 * network namespace.
 *
 * @param <C> the channel; {@link Channels#close} must tell whether it was this call that closed it, so that a channel
 *            closed on several paths is counted out once
 */
final class ChannelPool<C> implements Closeable {
    /** How the pool's channels are opened and closed. */
    interface Channels<C> {
        C open() throws IOException;

        /** Closes quietly; true if this call closed it, false if it was closed already. */
        boolean close(C channel);
    }

    /** A keep-alive exchange on an idle channel; an exception means it is dead. */
    interface Ping<C> {
        void ping(C channel) throws IOException;
    }

    /** A channel lying idle, and since when ({@link System#nanoTime}); compared by identity. */
    private static final class Idle<C> {
        final C channel;
        final long since;

        Idle(C channel, long since) {
            this.channel = channel;
            this.since = since;
        }
    }

    private final String name;
    private final Channels<C> channels;
    /**
     * Permits the owner takes for every channel in use, or null for no bound: opening ahead and upkeep (which takes a
     * channel out of the pool while it pings) take one too, so that open channels never outnumber the permits.
     */
    private final Semaphore inUse;
    private final ConcurrentLinkedDeque<Idle<C>> idle = new ConcurrentLinkedDeque<>();
    /** Channels open now, idle or in use. */
    private final AtomicInteger open = new AtomicInteger();
    private volatile boolean closed;

    /** {@code name} is what error messages call the pool ("the link to peer s2"). */
    ChannelPool(String name, Channels<C> channels, Semaphore inUse) {
        this.name = name;
        this.channels = channels;
        this.inUse = inUse;
    }

    /** The channel put back last, or null if none is idle. */
    C takeIdle() {
        Idle<C> i = idle.pollFirst();
        return i == null ? null : i.channel;
    }

    /** A new channel, counted as open; the caller puts it back or discards it. */
    C open() throws IOException {
        if (closed) throw new IOException(name + " is closed");
        C channel = channels.open();
        open.incrementAndGet();
        if (closed) {
            discard(channel);
            throw new IOException(name + " is closed");
        }
        return channel;
    }

    /** Puts back a channel whose last exchange completed cleanly, to be taken first. */
    void put(C channel) {
        if (closed) {
            discard(channel);
            return;
        }
        Idle<C> i = new Idle<>(channel, System.nanoTime());
        idle.offerFirst(i);
        if (closed && idle.remove(i)) discard(channel); // close() drained the pool meanwhile
    }

    /** Closes a channel taken from the pool or opened by it; closing one twice counts it out once. */
    void discard(C channel) {
        if (channels.close(channel)) open.decrementAndGet();
    }

    /** Opens channels until {@code target} are open (idle or in use); returns how many it opened. */
    int fill(int target) throws IOException {
        int opened = 0;
        while (!closed && open.get() < target && !Thread.currentThread().isInterrupted() && enter()) {
            try {
                Idle<C> i = new Idle<>(open(), System.nanoTime());
                idle.offerLast(i);
                if (closed && idle.remove(i)) discard(i.channel);
                opened++;
            } finally {
                leave();
            }
        }
        return opened;
    }

    /**
     * One round of upkeep over the channels idle now, each once. While more than {@code keep} are open, those idle for
     * {@code unusedForNanos} are closed, oldest first (each holds a thread at the far end). Then every one left is
     * pinged, newest first and each put back behind the others, so that the round leaves them in the order it found
     * them: one that does not answer is closed (the far end restarted, or closed it after its idle timeout), while
     * one that does stays open at the far end for as long again. A ping does not count as use. Returns how many were
     * closed.
     */
    int upkeep(int keep, long unusedForNanos, Ping<C> ping) {
        int closedNow = 0;
        long now = System.nanoTime();
        @SuppressWarnings("unchecked")
        Idle<C>[] snapshot = idle.toArray(Idle[]::new);
        for (int n = snapshot.length - 1; n >= 0 && open.get() > keep; n--) {
            Idle<C> i = snapshot[n];
            if (now - i.since >= unusedForNanos && idle.removeLastOccurrence(i)) {
                discard(i.channel);
                closedNow++;
            }
        }
        for (int n = 0; n < snapshot.length && !closed; n++) {
            if (!enter()) continue; // every permit in use: this one is pinged next round
            try {
                Idle<C> i = snapshot[n];
                if (!idle.removeFirstOccurrence(i)) continue; // trimmed, or a migration took it meanwhile
                try {
                    ping.ping(i.channel);
                } catch (IOException | RuntimeException e) {
                    discard(i.channel);
                    closedNow++;
                    continue;
                }
                idle.offerLast(i);
                if (closed && idle.remove(i)) discard(i.channel);
            } finally {
                leave();
            }
        }
        return closedNow;
    }

    int openChannels() {
        return open.get();
    }

    private boolean enter() {
        return inUse == null || inUse.tryAcquire();
    }

    private void leave() {
        if (inUse != null) inUse.release();
    }

    /** Closes the idle channels; those in use are closed as they come back. */
    @Override
    public void close() {
        closed = true;
        for (Idle<C> i; (i = idle.poll()) != null; ) discard(i.channel);
    }
}
