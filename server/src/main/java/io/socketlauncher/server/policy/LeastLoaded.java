package io.socketlauncher.server.policy;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Chooses the least-loaded peer. Loads come from a {@link PeerLoads} source, fetched at most once per
 * {@code refresh}; between fetches every connection sent to a peer counts as one more unit of its load, so a
 * burst (a drain) spreads over the peers instead of piling onto whichever looked idlest at the last fetch. Ties go
 * to the smaller id, so the choice is deterministic. Peers the source does not list (not able to take connections)
 * are never chosen. Thread-safe.
 */
public final class LeastLoaded implements PeerSelector {
    private final PeerLoads source;
    private final long refreshNanos;
    private final LongSupplier clock;
    private Map<String, Long> loads = Map.of();
    private final Map<String, Long> sentSinceFetch = new HashMap<>();
    private long fetchedAt;
    private boolean fetched;

    public LeastLoaded(PeerLoads source, Duration refresh) {
        this(source, refresh, System::nanoTime);
    }

    /** With an explicit clock (nanoseconds), for tests. */
    public LeastLoaded(PeerLoads source, Duration refresh, LongSupplier clock) {
        this.source = Objects.requireNonNull(source, "source");
        if (refresh.isNegative()) throw new IllegalArgumentException("refresh must not be negative: " + refresh);
        this.refreshNanos = refresh.toNanos();
        this.clock = clock;
    }

    @Override
    public synchronized Optional<String> choose(Set<String> peers) throws IOException {
        long now = clock.getAsLong();
        if (!fetched || now - fetchedAt >= refreshNanos) {
            loads = Map.copyOf(source.loads());
            sentSinceFetch.clear();
            fetchedAt = now;
            fetched = true;
        }
        String best = null;
        long bestLoad = Long.MAX_VALUE;
        for (String peer : peers) {
            Long load = loads.get(peer);
            if (load == null) continue;
            long effective = load + sentSinceFetch.getOrDefault(peer, 0L);
            if (effective < bestLoad || effective == bestLoad && peer.compareTo(best) < 0) {
                best = peer;
                bestLoad = effective;
            }
        }
        if (best != null) sentSinceFetch.merge(best, 1L, Long::sum);
        return Optional.ofNullable(best);
    }
}
