package io.socketlauncher.cluster;

import io.socketlauncher.server.TransferException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.cluster.StreamSession.MoveRequest;
import io.socketlauncher.testbed.TcpCounters;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Live migration end to end on the testbed with the real proxy: a client streams numbered bytes both ways through
 * the VIP while its connection moves between s1 and s2 at least 1,000 times; every byte is checked at both ends, the
 * client's kernel must see no reset, no loss and no reordering: its only retransmissions may be tail-loss probes
 * that the servers saw twice (see the main test for why those are not yet zero). Plus the rollbacks: a target that
 * refuses, a proxy that refuses the redirect, a target that fails or goes silent after the source dumped the socket.
 */
class LiveMigrationTest {
    private static final int MIGRATIONS = 1000;
    /** Far more than 1,000 migrations take even on a loaded machine; a bound, not a figure. */
    private static final long MIGRATING_LIMIT_NANOS = 300_000_000_000L;
    private static final long PAUSE_MILLIS = 10;

    private static MigrationBed bed;
    private static final Map<Integer, StreamSession> sessions = new ConcurrentHashMap<>();
    private static StreamingApp app1, app2;
    private static ClusterStreams streams;

    @BeforeAll
    static void up() throws Exception {
        bed = MigrationBed.start();
        app1 = new StreamingApp(bed.s1, bed.client().address(), sessions);
        app2 = new StreamingApp(bed.s2, bed.client().address(), sessions);
        streams = new ClusterStreams(bed.cluster, sessions);
        warmUp();
    }

    /** The first migrations run interpreted code (tens of ms): warm the JIT up before anything is measured. */
    private static void warmUp() throws Exception {
        StreamSession[] holder = new StreamSession[1];
        try (StreamingClient client = connect(holder)) {
            for (int i = 0; i < 30; i++) migrate(holder[0]);
            client.finish(30_000);
        }
    }

    /** Asks the serving handler to move the connection to the other server; returns the latency in nanoseconds. */
    private static long migrate(StreamSession session) throws Exception {
        String from = session.servedBy;
        String to = from.equals("s1") ? "s2" : "s1";
        MoveRequest move = new MoveRequest(from, to);
        session.move.set(move);
        long latency = move.done().get(30, TimeUnit.SECONDS);
        await("the stream to go on at " + to, () -> to.equals(session.servedBy) || session.failure.get() != null);
        return latency;
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (app1 != null) app1.close();
            if (app2 != null) app2.close();
        } finally {
            if (bed != null) bed.close();
        }
    }

    /** A client connection whose session is registered and which is served (by whichever server the proxy chose). */
    private static StreamingClient connect(StreamSession[] session) throws Exception {
        StreamingClient client = new StreamingClient(bed.client(), bed.vip);
        session[0] = new StreamSession(client.port);
        sessions.put(client.port, session[0]);
        client.start();
        StreamSession s = session[0];
        await("the stream to start", () -> s.progress > 0 && client.received > 0);
        return client;
    }

    @Test
    void aStreamingConnectionMovesBackAndForthWithoutLossOrReset() throws Exception {
        StreamSession[] holder = new StreamSession[1];
        TcpCounters before = TcpCounters.of(bed.client());
        TcpCounters s1Before = TcpCounters.of(bed.tb.server(1)), s2Before = TcpCounters.of(bed.tb.server(2));
        long migrations = 0;
        List<String> rollbacks = new ArrayList<>();
        try (StreamingClient client = connect(holder)) {
            StreamSession session = holder[0];
            long start = System.nanoTime();
            while (migrations < MIGRATIONS && System.nanoTime() - start < MIGRATING_LIMIT_NANOS && session.failure.get() == null
                    && client.failure.get() == null) {
                String from = session.servedBy;
                String to = from.equals("s1") ? "s2" : "s1";
                MoveRequest move = new MoveRequest(from, to);
                session.move.set(move);
                long latency;
                try {
                    latency = move.done().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TransferException t) || !t.stayedOnSource()) {
                        throw new AssertionError("migration " + (migrations + 1) + " " + from + " -> " + to + " failed", e.getCause());
                    }
                    // Rolled back: the connection must go on at the source; counted, and failed on below.
                    rollbacks.add(t.getMessage());
                    continue;
                }
                session.latencyMicros.recordValue(Math.max(1, latency / 1000));
                migrations++;
                String now = to;
                await("the stream to go on at " + to, () -> to.equals(session.servedBy) || session.failure.get() != null);
                assertThat(streams.backendAtTheProxy(streams.flow(client))).as("backend at the proxy after migration " + migrations).isEqualTo(now);
                Thread.sleep(PAUSE_MILLIS);
            }
            long elapsed = System.nanoTime() - start;
            client.finish(30_000);
            assertThat(session.serverDone.await(30, TimeUnit.SECONDS)).as("server saw the client's end").isTrue();
            assertThat(session.failure.get()).as("server-side failure").isNull();
            assertThat(client.failure.get()).as("client-side failure").isNull();
            assertThat(session.serverReceived).as("client bytes checked by the servers").isEqualTo(client.sent);
            assertThat(client.received).as("server bytes checked by the client").isEqualTo(session.serverSent);

            TcpCounters after = TcpCounters.of(bed.client());
            long socketRetrans = client.totalRetransmissions();
            System.out.printf("live migration: %d migrations in %.1f s; %d bytes client->server, %d bytes server->client, all checked%n",
                    migrations, elapsed / 1e9, client.sent, client.received);
            System.out.printf("migration latency (transfer() to peer serving): p50 %d us, p90 %d us, p99 %d us, max %d us%n",
                    session.latencyMicros.getValueAtPercentile(50), session.latencyMicros.getValueAtPercentile(90),
                    session.latencyMicros.getValueAtPercentile(99), session.latencyMicros.getMaxValue());
            System.out.printf("client segments held (HOLDING to XFERED): p50 %d us, p90 %d us, p99 %d us, max %d us; %d holds over 8 ms%n",
                    session.holdMicros.getValueAtPercentile(50), session.holdMicros.getValueAtPercentile(90),
                    session.holdMicros.getValueAtPercentile(99), session.holdMicros.getMaxValue(),
                    session.holdMicros.getCountBetweenValues(8_000, Long.MAX_VALUE / 2));
            System.out.printf("holds over 8 ms: %s%n", session.longHolds);
            System.out.printf("steps: %s%n", session.steps());
            System.out.printf("client kernel: %s; socket tcpi_total_retrans %d%n", after.describe(before, "RetransSegs",
                    "EstabResets", "InErrs", "TCPLossProbes", "TCPFastRetrans", "TCPTimeouts", "TCPSpuriousRTOs",
                    "TCPDSACKRecv", "TCPSACKReorder", "TCPOFOQueue"), socketRetrans);
            String[] serverSide = {"RetransSegs", "OutRsts", "InErrs", "TCPOFOQueue", "TCPOFODrop", "TCPRcvQDrop", "TCPBacklogDrop",
                    "TCPZeroWindowDrop", "PAWSEstab", "RcvPruned", "TCPOFOMerge", "TCPAbortOnData", "TCPDSACKOldSent",
                    "TCPDSACKOfoSent", "TCPLossProbes", "TCPTimeouts", "TCPFastRetrans", "TCPSACKReneging", "TCPWinProbe"};
            System.out.printf("s1 kernel: %s%ns2 kernel: %s%n", TcpCounters.of(bed.tb.server(1)).describe(s1Before, serverSide),
                    TcpCounters.of(bed.tb.server(2)).describe(s2Before, serverSide));
            System.out.printf("client kernel more: %s%n", after.describe(before, "TCPSACKReneging", "TCPDSACKOldSent",
                    "TCPRenoRecovery", "TCPSackRecovery", "TCPLostRetransmit", "TCPSackFailures", "TCPLossFailures",
                    "TCPRetransFail", "TCPSynRetrans", "TCPLossProbeRecovery", "TCPSpuriousRtxHostQueues", "TCPDSACKIgnoredOld",
                    "TCPDSACKIgnoredNoUndo", "TCPSACKReorder", "TCPTSReorder", "TCPRenoReorder", "TcpTimeoutRehash", "TCPRcvCoalesce"));
            System.out.printf("late segments forwarded: s1 %d, s2 %d%n", bed.s1.lateSegmentsForwarded(), bed.s2.lateSegmentsForwarded());
            System.out.printf("hold planes: s1 %s; s2 %s%n", bed.s1.dataPlane().describeCounters(), bed.s2.dataPlane().describeCounters());

            System.out.printf("rolled back: %d %s%n", rollbacks.size(), rollbacks);
            assertThat(rollbacks).as("migrations rolled back").isEmpty();
            assertThat(migrations).as("migrations").isGreaterThanOrEqualTo(MIGRATIONS);
            assertThat(after.since(before, "EstabResets")).as("client connections reset").isZero();
            assertThat(after.since(before, "TCPSACKReneging")).as("client saw SACKed data forgotten").isZero();
            // Nothing lost, nothing reordered: the client never entered loss recovery.
            assertThat(after.since(before, "TCPFastRetrans")).as("client fast retransmits (reordering or loss)").isZero();
            // Zero retransmissions is the goal, not yet met on a loaded 2-core host: when the client goes without an ACK
            // for longer than its probe timeout (2 RTT + 2 ms, in 4 ms jiffies), from the proxy's switch until the
            // restored socket answers, it sends a tail-loss probe, often a copy of its last segment. In 1,000
            // migrations here that happened 25-56 times when this test was written, 0-1 times in recent runs on an idle
            // machine (more under load); every copy reported back as a duplicate (DSACK). So: every
            // retransmission is a probe, and a duplicate the servers saw, never a lost segment.
            long duplicatesSeen = TcpCounters.of(bed.tb.server(1)).since(s1Before, "TCPDSACKOldSent")
                    + TcpCounters.of(bed.tb.server(2)).since(s2Before, "TCPDSACKOldSent");
            assertThat(after.since(before, "RetransSegs")).as("client retransmissions, each a loss probe (%d holds over 8 ms: %s)",
                    session.longHolds.size(), session.longHolds).isLessThanOrEqualTo(after.since(before, "TCPLossProbes"));
            assertThat(socketRetrans).as("the client socket's retransmissions, each a duplicate the servers saw")
                    .isLessThanOrEqualTo(duplicatesSeen);
        }
    }

    @Test
    void aTargetThatRefusesLeavesTheConnectionWorkingOnTheSource() throws Exception {
        StreamSession[] holder = new StreamSession[1];
        TcpCounters before = TcpCounters.of(bed.client());
        try (StreamingClient client = connect(holder)) {
            StreamSession session = holder[0];
            String from = session.servedBy;
            String to = from.equals("s1") ? "s2" : "s1";
            bed.server(to).acceptTransfers(false);
            try {
                MoveRequest move = new MoveRequest(from, to);
                session.move.set(move);
                try {
                    move.done().get(30, TimeUnit.SECONDS);
                    fail("the transfer to a refusing " + to + " succeeded");
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(TransferException.class).hasMessageContaining("takes no connections");
                    TransferException t = (TransferException) e.getCause();
                    assertThat(t.stage()).as(t.getMessage()).isEqualTo(TransferException.Stage.PREPARE);
                    assertThat(t.stayedOnSource()).as(t.getMessage()).isTrue();
                }
            } finally {
                bed.server(to).acceptTransfers(true);
            }
            assertThat(streams.backendAtTheProxy(streams.flow(client))).as("backend at the proxy").isEqualTo(from);
            long clientSeen = client.received, serverSeen = session.progress;
            await("both streams to go on", () -> client.received > clientSeen + 64 * 1024 && session.progress > serverSeen + 64 * 1024);
            assertThat(session.servedBy).isEqualTo(from);
            client.finish(30_000);
            assertThat(session.serverDone.await(30, TimeUnit.SECONDS)).as("server saw the client's end").isTrue();
            assertThat(session.failure.get()).as("server-side failure").isNull();
            assertThat(client.failure.get()).as("client-side failure").isNull();
            assertThat(session.serverReceived).isEqualTo(client.sent);
            assertThat(client.received).isEqualTo(session.serverSent);
            TcpCounters after = TcpCounters.of(bed.client());
            assertThat(after.since(before, "EstabResets")).as("client connections reset").isZero();
        }
    }

    @Test
    void aRedirectTheProxyRefusesLeavesTheConnectionOnTheSourceAndEndsTheTargetsHold() throws Exception {
        StreamSession[] holder = new StreamSession[1];
        TcpCounters before = TcpCounters.of(bed.client());
        try (StreamingClient client = streams.onS1(holder)) {
            TransferException t = streams.failedMove(holder[0], MigrationBed.GHOST);
            assertThat(t.stage()).as(t.getMessage()).isEqualTo(TransferException.Stage.REDIRECT);
            assertThat(t.stayedOnSource()).as(t.getMessage()).isTrue();
            assertThat(t).hasMessageContaining("no backend " + MigrationBed.GHOST);
            FlowTuple atS2 = new FlowTuple(
                    new InetSocketAddress(bed.client().address(), client.port), bed.s2.listenAddress());
            assertThat(bed.s2.dataPlane().held(atS2)).as("s2's hold after the abort").isEmpty();
            streams.stillServedBy("s1", "s1", client, holder[0], before);
        }
    }

    @ParameterizedTest
    @EnumSource(FakeTarget.Failure.class)
    void aTargetThatFailsAfterTheDumpGetsTheConnectionBackOnTheSource(FakeTarget.Failure failure) throws Exception {
        StreamSession[] holder = new StreamSession[1];
        TcpCounters before = TcpCounters.of(bed.client());
        try (FakeTarget fake = new FakeTarget(bed.tb.server(2), bed.s2.dataPlane(), bed.cluster.key(),
                new InetSocketAddress(bed.tb.server(2).address(), MigrationBed.FAKE_AGENT_PORT), bed.s2.listenAddress(), failure);
             StreamingClient client = streams.onS1(holder)) {
            TransferException t = streams.failedMove(holder[0], MigrationBed.FAKE);
            assertThat(t.stage()).as(t.getMessage()).isEqualTo(TransferException.Stage.XFER);
            assertThat(t.stayedOnSource()).as(t.getMessage()).isTrue();
            assertThat(fake.aborts.get()).as("XFER_ABORTs the fake target got").isPositive();
            streams.stillServedBy("s1", "s1", client, holder[0], before);
        }
    }

    @Test
    void aRedirectedReplyThatIsLostMakesTheSourcePointTheFlowBackAndKeepIt() throws Exception {
        StreamSession[] holder = new StreamSession[1];
        TcpCounters before = TcpCounters.of(bed.client());
        try (StreamingClient client = streams.onS1(holder)) {
            bed.s1Control.loseNextRedirected();
            TransferException t = streams.failedMove(holder[0], "s2");
            assertThat(t.stage()).as(t.getMessage()).isEqualTo(TransferException.Stage.REDIRECT);
            assertThat(t.stayedOnSource()).as("stayed on the source: " + t.getMessage()).isTrue();
            FlowTuple atS2 = new FlowTuple(
                    new InetSocketAddress(bed.client().address(), client.port), bed.s2.listenAddress());
            assertThat(bed.s2.dataPlane().held(atS2)).as("s2's hold after the abort").isEmpty();
            streams.stillServedBy("s1", "s1", client, holder[0], before);
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("not within 20 s: " + what);
            Thread.sleep(1);
        }
    }
}
