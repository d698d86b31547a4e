package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.socketlauncher.cluster.StreamSession.MoveRequest;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.testbed.TcpCounters;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Streaming connections from a cluster's first client through its VIP, as the fault tests start, move and check them
 * ({@link StreamingApp} serves them, sharing {@code sessions}).
 */
final class ClusterStreams {
    private final Cluster cluster;
    private final Map<Integer, StreamSession> sessions;

    ClusterStreams(Cluster cluster, Map<Integer, StreamSession> sessions) {
        this.cluster = cluster;
        this.sessions = sessions;
    }

    /** A connection served by s1 (moved there first if the proxy chose s2). */
    StreamingClient onS1(StreamSession[] holder) throws Exception {
        StreamingClient client = new StreamingClient(cluster.testbed().client(1), cluster.service());
        holder[0] = new StreamSession(client.port);
        sessions.put(client.port, holder[0]);
        client.start();
        StreamSession s = holder[0];
        await("the stream to start", () -> s.progress > 0 && client.received > 0);
        if (s.servedBy.equals("s2")) {
            MoveRequest move = new MoveRequest("s2", "s1");
            s.move.set(move);
            move.done().get(60, TimeUnit.SECONDS);
            await("the stream to go on at s1", () -> "s1".equals(s.servedBy) || s.failure.get() != null);
        }
        return client;
    }

    TransferException failedMove(StreamSession session, String to) throws Exception {
        MoveRequest move = new MoveRequest("s1", to);
        session.move.set(move);
        try {
            move.done().get(120, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(TransferException.class);
            return (TransferException) e.getCause();
        }
        throw new AssertionError("the transfer to " + to + " succeeded");
    }

    /** The client's flow as the proxy knows it. */
    FlowKey flow(StreamingClient client) {
        return new FlowKey(new InetSocketAddress(cluster.testbed().client(1).address(), client.port), cluster.service());
    }

    String backendAtTheProxy(FlowKey key) {
        try {
            return cluster.proxy().flows(Integer.MAX_VALUE).stream().filter(f -> f.key().equals(key)).findFirst().orElseThrow().backendId();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Fails the test unless the proxy points the flow at {@code backend}, the stream flows both ways at
     * {@code server}, ends with the client's FIN answered by the server's, every byte was right, and no reset.
     */
    void stillServedBy(String backend, String server, StreamingClient client, StreamSession session, TcpCounters before)
            throws Exception {
        assertThat(backendAtTheProxy(flow(client))).as("backend at the proxy").isEqualTo(backend);
        goesOn("both streams to go on", client, session);
        assertThat(session.servedBy).isEqualTo(server);
        client.finish(60_000);
        assertThat(session.serverDone.await(60, TimeUnit.SECONDS)).as("server saw the client's end").isTrue();
        assertThat(session.failure.get()).as("server-side failure").isNull();
        assertThat(client.failure.get()).as("client-side failure").isNull();
        assertThat(session.serverReceived).as("client bytes checked by the server").isEqualTo(client.sent);
        assertThat(client.received).as("server bytes checked by the client").isEqualTo(session.serverSent);
        assertThat(TcpCounters.of(cluster.testbed().client(1)).since(before, "EstabResets")).as("client connections reset").isZero();
    }

    /**
     * Waits for 64 KiB more both ways, failing on a failure either side. Segments a failed target's hold swallowed come
     * again after the client's retransmission timer, which backs off while a slow step lasts: generous.
     */
    static void goesOn(String what, StreamingClient client, StreamSession session) throws InterruptedException {
        long clientSeen = client.received, serverSeen = session.progress;
        await(what, () -> client.received > clientSeen + 64 * 1024 && session.progress > serverSeen + 64 * 1024
                || session.failure.get() != null || client.failure.get() != null);
        assertThat(session.failure.get()).as("server-side failure").isNull();
        assertThat(client.failure.get()).as("client-side failure").isNull();
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("not within 60 s: " + what);
            Thread.sleep(1);
        }
    }
}
