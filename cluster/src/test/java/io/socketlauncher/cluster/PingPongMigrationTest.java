package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.TcpCounters;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A connection that comes straight back: s1 moves it to s2, whose application transfers it back to s1 as soon as it
 * accepts it. s1 may then still have its own captured copy of the connection open (a source closes it once it has
 * XFERED, which the target sends after handing the connection to its application): the return must wait for that
 * copy to be closed instead of failing to restore the same address pair (EADDRNOTAVAIL) and rolling back.
 */
class PingPongMigrationTest {
    private static final int ROUND_TRIPS = 300;
    /** I/O steps (about 1 ms each) s1 serves between two round trips: every byte is checked along the way. */
    private static final int STEPS_AT_HOME = 3;

    private MigrationBed bed;
    private Bouncer bouncer;

    @BeforeEach
    void up() throws Exception {
        bed = MigrationBed.start();
    }

    @AfterEach
    void down() throws Exception {
        try {
            if (bouncer != null) bouncer.close();
        } finally {
            bed.close();
        }
    }

    @Test
    void aConnectionSentBackFromTheTargetsAcceptMovesThreeHundredRoundTripsWithoutRollback() throws Exception {
        bouncer = new Bouncer("s2", ROUND_TRIPS);
        TcpCounters before = TcpCounters.of(bed.client());
        try (StreamingClient client = new StreamingClient(bed.client(), bed.vip)) {
            client.start();
            bouncer.awaitRoundTrips(ROUND_TRIPS, client);
            finish(client, before);
        }
    }

    /**
     * The window made certain: a relay in front of s2's agent keeps s1 from hearing XFERED (so s1's captured copy
     * stays open) until s2's transfer back is under way and has had a second to complete. It can only complete after
     * s1 let go of its copy: it must wait for that, then succeed.
     */
    @Test
    void aReturnWhileTheSourceStillHasItsCopyWaitsForTheCopyToBeClosed() throws Exception {
        int roundTrips = 3;
        AtomicInteger returnsUnderWayAtXfered = new AtomicInteger();
        try (LossyPeerRelay relay = new LossyPeerRelay(bed.tb.server(2),
                new InetSocketAddress(bed.tb.server(2).address(), MigrationBed.RELAY_PORT), bed.cluster.agentAddress(2))) {
            bouncer = new Bouncer(MigrationBed.RELAYED, roundTrips);
            bouncer.beforeLeaving = () -> {
                // This round's return is the next one started; it has completed once as many returns have. (Not
                // "more than completed now": the previous round's completion is counted on s2 after s1 serves again,
                // and may still be uncounted here.)
                int returnsBefore = bouncer.returnsStarted.get();
                relay.beforeNext(Set.of(MessageType.XFERED), () -> {
                    if (!waitFor(Duration.ofSeconds(30), () -> bouncer.returnsStarted.get() > returnsBefore)) return;
                    if (!waitFor(Duration.ofSeconds(1), () -> bouncer.completed.get() > returnsBefore || !bouncer.rollbacks.isEmpty())) {
                        returnsUnderWayAtXfered.incrementAndGet();
                    }
                });
            };
            TcpCounters before = TcpCounters.of(bed.client());
            try (StreamingClient client = new StreamingClient(bed.client(), bed.vip)) {
                client.start();
                bouncer.awaitRoundTrips(roundTrips, client);
                finish(client, before);
            }
        }
        assertThat(returnsUnderWayAtXfered.get()).as("returns that had to wait for s1's copy").isEqualTo(roundTrips);
    }

    private void finish(StreamingClient client, TcpCounters before) throws Exception {
        assertThat(bouncer.rollbacks).as("rolled-back migrations").isEmpty();
        assertThat(bouncer.failure.get()).as("server-side failure").isNull();
        assertThat(client.failure.get()).as("client-side failure").isNull();
        client.finish(60_000);
        assertThat(bouncer.done.await(60, TimeUnit.SECONDS)).as("s1 saw the client's end").isTrue();
        assertThat(bouncer.failure.get()).as("server-side failure").isNull();
        assertThat(client.failure.get()).as("client-side failure").isNull();
        assertThat(bouncer.serverReceived).as("client bytes checked by the servers").isEqualTo(client.sent).isPositive();
        assertThat(client.received).as("server bytes checked by the client").isEqualTo(bouncer.serverSent).isPositive();
        assertThat(TcpCounters.of(bed.client()).since(before, "EstabResets")).as("client connections reset").isZero();
    }

    private static boolean waitFor(Duration limit, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) return false;
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /**
     * The application on s1 and s2 for the test's one client connection. s1 checks the client's numbered stream and
     * sends its own (the positions travel as the application state), and after a few steps moves the connection to
     * {@code away}; s2 sends every arrival back to s1 from its accept, before touching the socket.
     */
    private final class Bouncer implements AutoCloseable {
        final String away;
        final int roundTrips;
        final AtomicInteger completed = new AtomicInteger();
        final AtomicInteger returnsStarted = new AtomicInteger();
        final List<String> rollbacks = new CopyOnWriteArrayList<>();
        final AtomicReference<String> failure = new AtomicReference<>();
        final CountDownLatch done = new CountDownLatch(1);
        volatile Runnable beforeLeaving;
        volatile long serverReceived, serverSent;
        private final List<Thread> acceptors;
        private volatile boolean closed;

        Bouncer(String away, int roundTrips) {
            this.away = away;
            this.roundTrips = roundTrips;
            this.acceptors = List.of(bed.s1, bed.s2).stream()
                    .map(s -> Thread.ofPlatform().daemon().name("bouncer-accept-" + s.id()).start(() -> acceptLoop(s)))
                    .toList();
        }

        void awaitRoundTrips(int n, StreamingClient client) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (completed.get() < n && rollbacks.isEmpty() && failure.get() == null && client.failure.get() == null
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(rollbacks).as("rolled-back migrations").isEmpty();
            assertThat(failure.get()).as("server-side failure").isNull();
            assertThat(client.failure.get()).as("client-side failure").isNull();
            assertThat(completed.get()).as("round trips s1 -> " + away + " -> s1").isGreaterThanOrEqualTo(n);
        }

        private void acceptLoop(LauncherServer server) {
            while (!closed) {
                try {
                    Connection c = server.accept(Duration.ofMillis(100));
                    if (c == null) continue;
                    if (!c.client().getAddress().equals(bed.client().address())) {
                        c.close(); // the proxy's health checks
                        continue;
                    }
                    Thread.ofPlatform().daemon().name("bouncer-" + server.id()).start(() -> serve(server, c));
                } catch (Exception e) {
                    if (!closed) failure.compareAndSet(null, "accept on " + server.id() + ": " + e);
                    return;
                }
            }
        }

        private void serve(LauncherServer server, Connection c) {
            byte[] arrived = c.applicationState();
            ByteBuffer state = ByteBuffer.wrap(arrived.length == 16 ? arrived : new byte[16]);
            long received = state.getLong(0), sent = state.getLong(8);
            boolean home = server.id().equals("s1");
            byte[] in = new byte[256 * 1024];
            byte[] out = new byte[StreamingApp.CHUNK];
            int steps = 0;
            boolean triedToLeave = false;
            try {
                while (!closed) {
                    // s1 tries again after a rollback (which fails the test anyway); s2 serves what stayed.
                    if (home ? steps >= STEPS_AT_HOME && completed.get() < roundTrips : !triedToLeave) {
                        triedToLeave = true;
                        String to = home ? away : "s1";
                        Runnable hook = beforeLeaving;
                        if (home && hook != null) hook.run();
                        if (!home) returnsStarted.incrementAndGet();
                        c.applicationState(ByteBuffer.allocate(16).putLong(received).putLong(sent).array());
                        try {
                            server.transfer(c, to).get(60, TimeUnit.SECONDS);
                            if (!home && c.arrivedFrom().isPresent()) completed.incrementAndGet();
                            return;
                        } catch (ExecutionException e) {
                            if (!(e.getCause() instanceof TransferException t) || !t.stayedOnSource()) {
                                failure.compareAndSet(null, server.id() + " -> " + to + ": " + e.getCause());
                                return;
                            }
                            rollbacks.add(server.id() + " -> " + to + ": " + t.getMessage());
                        }
                    }
                    int fd = c.fd();
                    Libc.poll(fd, Libc.POLLIN, 1);
                    int n = Libc.recv(fd, in, 0, in.length, Libc.MSG_DONTWAIT);
                    if (n == 0) {
                        serverReceived = received;
                        serverSent = sent;
                        done.countDown();
                        c.close();
                        return;
                    }
                    if (n > 0) {
                        long bad = NumberedStream.firstMismatch(in, n, received, NumberedStream.CLIENT_TO_SERVER);
                        if (bad >= 0) {
                            failure.compareAndSet(null, server.id() + ": client byte " + bad + " differs");
                            return;
                        }
                        received += n;
                    }
                    NumberedStream.fill(out, out.length, sent, NumberedStream.SERVER_TO_CLIENT);
                    int k = Libc.send(fd, out, 0, out.length, Libc.MSG_DONTWAIT);
                    if (k > 0) sent += k;
                    steps++;
                }
            } catch (Exception e) {
                failure.compareAndSet(null, server.id() + ": " + e);
            }
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            for (Thread t : acceptors) t.join(5_000);
        }
    }
}
