package io.socketlauncher.demo.resp;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A RESP-speaking server on a {@link LauncherServer}: every connection, accepted here or arrived from a peer, gets
 * its own thread, which serves it exactly the same way, picking up the session state the connection carries.
 * Connections move themselves to a peer: a RESP connection when its {@link MovePolicy} says so, asked at every
 * request boundary (once the replies are sent), a numbered stream every {@link Settings#moveEveryStream} to the
 * next peer in turn.
 */
public final class RespServer implements AutoCloseable {
    /**
     * @param policy when a RESP connection moves, and where
     * @param moveEveryStream a numbered stream moves this often; zero: never
     * @param streamBytesPerSecond the pace of the server's numbered stream, per connection
     */
    public record Settings(MovePolicy policy, Duration moveEveryStream, long streamBytesPerSecond) {
        public Settings {
            java.util.Objects.requireNonNull(policy, "policy");
            if (moveEveryStream.isNegative()) throw new IllegalArgumentException("moveEveryStream must not be negative");
            if (streamBytesPerSecond <= 0) throw new IllegalArgumentException("streamBytesPerSecond must be positive");
        }
    }

    private final LauncherServer server;
    private final RespCommands commands;
    private final Settings settings;
    private final MigrationStats stats;
    private final List<String> peers;
    private final AtomicLong turn = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicInteger inService = new java.util.concurrent.atomic.AtomicInteger();
    private final Set<RespConnection> live = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    public RespServer(LauncherServer server, Keyspace keyspace, Settings settings, MigrationStats stats) {
        this.server = server;
        this.commands = new RespCommands(keyspace);
        this.settings = settings;
        this.stats = stats;
        this.peers = new ArrayList<>(server.peers().keySet());
        this.acceptor = Thread.ofPlatform().daemon().name("resp-accept-" + server.id()).start(this::acceptLoop);
    }

    public String id() {
        return server.id();
    }

    /** Connections this server serves right now. */
    public int connections() {
        return live.size();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Connection c = server.accept(Duration.ofMillis(100));
                if (c == null) continue;
                RespConnection rc = new RespConnection(this, server, c, commands, settings, stats);
                live.add(rc);
                Thread.ofPlatform().daemon().name("resp-" + server.id() + "-" + c.client().getPort()).start(() -> {
                    try {
                        rc.run();
                    } finally {
                        live.remove(rc);
                    }
                });
            } catch (Exception e) {
                if (!closed) stats.failure("accept on " + server.id() + ": " + e);
                return;
            }
        }
    }

    /** The next peer in turn, for the streams. */
    String nextPeer() {
        return peers.isEmpty() ? null : peers.get((int) (turn.getAndIncrement() % peers.size()));
    }

    /** The peer a RESP connection moves to now, or null; {@code load} is the requests in service here. */
    String peerByPolicy(int requestsSinceMove) throws java.io.IOException {
        return settings.policy().peer(requestsSinceMove, inService.get(), server.peers().keySet());
    }

    /** Requests being served here right now: the load the logistic rule sees. */
    void serving(boolean started) {
        if (started) inService.incrementAndGet();
        else inService.decrementAndGet();
    }

    boolean closed() {
        return closed;
    }

    /** Stops accepting and ends the connections still served here (their threads see end of stream). */
    @Override
    public void close() throws InterruptedException {
        closed = true;
        acceptor.join(5_000);
        for (RespConnection c : live) c.shutdown();
    }
}
