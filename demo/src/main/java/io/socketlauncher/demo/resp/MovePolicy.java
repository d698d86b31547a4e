package io.socketlauncher.demo.resp;

import io.socketlauncher.server.policy.LogisticThreshold;
import io.socketlauncher.server.policy.PeerSelector;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether a RESP connection, between two requests (its replies sent), moves to a peer now, and to which.
 * Two kinds: every N requests to the next peer in turn (the demo's steady back and forth), or the library's
 * policies: the seed's logistic threshold on this server's load, with the peer a {@link PeerSelector} picks
 * (least-loaded by the proxy's flow counts, for instance).
 */
public interface MovePolicy {
    /**
     * The peer to move to now, or null to stay.
     *
     * @param requestsSinceMove requests this connection was served since it arrived, or since its last move was tried
     * @param load requests in service on this server right now (the seed's queue length)
     */
    String peer(int requestsSinceMove, long load, Set<String> peers) throws IOException;

    /** Never moves. */
    MovePolicy NEVER = (requests, load, peers) -> null;

    /** After every {@code n} requests, to the next peer in turn: with two servers, back and forth. */
    static MovePolicy everyRequests(int n) {
        if (n < 1) throw new IllegalArgumentException("a connection moves after at least one request, not " + n);
        AtomicLong turn = new AtomicLong();
        return new MovePolicy() {
            @Override
            public String peer(int requestsSinceMove, long load, Set<String> peers) {
                if (requestsSinceMove < n || peers.isEmpty()) return null;
                List<String> list = new ArrayList<>(peers);
                return list.get((int) (turn.getAndIncrement() % list.size()));
            }

            @Override
            public String toString() {
                return "every " + n + " requests";
            }
        };
    }

    /** The seed's rule: moves with probability {@code 1 / (1 + exp(-k (load - threshold)))}, to the selector's peer. */
    static MovePolicy logistic(LogisticThreshold rule, PeerSelector selector) {
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(selector, "selector");
        return new MovePolicy() {
            @Override
            public String peer(int requestsSinceMove, long load, Set<String> peers) throws IOException {
                if (requestsSinceMove == 0 || !rule.shouldTransfer(load)) return null;
                return selector.choose(peers).orElse(null);
            }

            @Override
            public String toString() {
                return "logistic threshold " + rule.threshold() + ", steepness " + rule.steepness();
            }
        };
    }
}
