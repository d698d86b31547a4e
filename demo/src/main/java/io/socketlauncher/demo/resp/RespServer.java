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
 * Connections move themselves to a peer: a RESP connection after every {@link Settings#moveEveryRequests}
 * requests (at a request boundary, once the replies are sent), a numbered stream every
 * {@link Settings#moveEveryStream}. The peer is the next one in turn, so with two servers connections go back
 * and forth.
 */
public final class RespServer implements AutoCloseable {
    /**
     * @param moveEveryRequests a RESP connection moves after this many requests; 0: never
     * @param moveEveryStream a numbered stream moves this often; zero: never
     * @param streamBytesPerSecond the pace of the server's numbered stream, per connection
     */
    public record Settings(int moveEveryRequests, Duration moveEveryStream, long streamBytesPerSecond) {
        public Settings {
            if (moveEveryRequests < 0) throw new IllegalArgumentException("moveEveryRequests must be >= 0: " + moveEveryRequests);
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
                RespConnection rc = new RespConnection(server, c, commands, settings, stats, this::nextPeer, () -> closed);
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

    private String nextPeer() {
        return peers.isEmpty() ? null : peers.get((int) (turn.getAndIncrement() % peers.size()));
    }

    /** Stops accepting and ends the connections still served here (their threads see end of stream). */
    @Override
    public void close() throws InterruptedException {
        closed = true;
        acceptor.join(5_000);
        for (RespConnection c : live) c.shutdown();
    }
}
