package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.cluster.FakeTarget.Action;
import io.socketlauncher.cluster.FakeTarget.Point;
import io.socketlauncher.cluster.StreamSession.MoveRequest;
import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferException.Stage;
import io.socketlauncher.testbed.TcpCounters;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The rollback table of docs/migration.md, step by step: a streaming connection (numbered bytes both ways, every
 * byte checked) is moved from s1 to a target that fails at one step of the protocol in one way (refuses, answers
 * after the source's bound, or dies as a killed process does: see {@link FakeTarget}), or the proxy's reply to a
 * redirect is lost. In every case the connection must end where the table says, the stream go on there byte-exact,
 * end with a clean FIN, and the client's kernel count no reset.
 */
class MigrationFaultTest {
    private static final Duration LATE_PREPARE = MigrationBed.TIMEOUTS.prepare().plusSeconds(2);
    private static final Duration LATE_XFER = MigrationBed.TIMEOUTS.transfer().plusSeconds(2);

    /** One row of the matrix: where the fault strikes, what it is, and the step at which the source must give up. */
    enum Fault {
        TARGET_REFUSES_PREPARE(Point.PREPARE, Action.REFUSE, Stage.PREPARE),
        TARGET_ANSWERS_PREPARE_TOO_LATE(Point.PREPARE, Action.ANSWER_LATE, Stage.PREPARE),
        TARGET_KILLED_ON_PREPARE(Point.PREPARE, Action.DIE, Stage.PREPARE),
        TARGET_KILLED_AFTER_HOLDING(Point.HOLDING_SENT, Action.DIE, Stage.XFER),
        TARGET_KILLED_AFTER_REDIRECTED(Point.ON_CUE, Action.DIE, Stage.XFER),
        TARGET_KILLED_DURING_XFER(Point.XFER_ARRIVING, Action.DIE, Stage.XFER),
        TARGET_KILLED_AFTER_XFER_BEFORE_XFERED(Point.XFER, Action.DIE, Stage.XFER),
        TARGET_REFUSES_XFER(Point.XFER, Action.REFUSE, Stage.XFER),
        TARGET_ANSWERS_XFER_TOO_LATE(Point.XFER, Action.ANSWER_LATE, Stage.XFER),
        PROXY_LOSES_REDIRECTED(Point.NEVER, Action.DIE, Stage.REDIRECT),
        PROXY_LOSES_THE_ROLLBACKS_REPOINT_AFTER_TARGET_REFUSES_XFER(Point.XFER, Action.REFUSE, Stage.XFER);

        final Point point;
        final Action action;
        final Stage stage;

        Fault(Point point, Action action, Stage stage) {
            this.point = point;
            this.action = action;
            this.stage = stage;
        }

        Duration late() {
            return point == Point.PREPARE ? LATE_PREPARE : LATE_XFER;
        }
    }

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

    @ParameterizedTest(name = "{0}")
    @EnumSource(Fault.class)
    void theConnectionSurvivesOnTheSource(Fault fault) throws Exception {
        StreamSession[] holder = new StreamSession[1];
        TcpCounters before = TcpCounters.of(bed.client());
        InetSocketAddress fakeAgent = new InetSocketAddress(bed.tb.server(2).address(), MigrationBed.FAKE_AGENT_PORT);
        try (FakeTarget fake = new FakeTarget(bed.tb.server(2), bed.s2.dataPlane(), bed.cluster.key(), fakeAgent,
                bed.s2.listenAddress(), fault.point, fault.action, fault.late());
             StreamingClient client = streams.onS1(holder)) {
            switch (fault) {
                case TARGET_KILLED_AFTER_REDIRECTED -> bed.s1Control.afterNextRedirect(fake::fail);
                case PROXY_LOSES_REDIRECTED -> bed.s1Control.loseNextRedirected();
                case PROXY_LOSES_THE_ROLLBACKS_REPOINT_AFTER_TARGET_REFUSES_XFER -> bed.s1Control.loseNextRedirectedTo("s1");
                default -> { }
            }
            TransferException t = streams.failedMove(holder[0], MigrationBed.FAKE);
            assertThat(t.stage()).as(t.getMessage()).isEqualTo(fault.stage);
            assertThat(t.stayedOnSource()).as("stayed on the source: " + t.getMessage()).isTrue();
            // The fault was injected (else this case tests nothing).
            if (fault.name().startsWith("PROXY_")) {
                assertThat(bed.s1Control.armed()).as("the proxy's reply was lost").isFalse();
            }
            if (fault.name().startsWith("TARGET_") || fault == Fault.PROXY_LOSES_THE_ROLLBACKS_REPOINT_AFTER_TARGET_REFUSES_XFER) {
                assertThat(fake.failures.get()).as("the fake target failed").isPositive();
            }
            FlowTuple atS2 = new FlowTuple(new InetSocketAddress(bed.client().address(), client.port), bed.s2.listenAddress());
            if (fault == Fault.TARGET_REFUSES_PREPARE) {
                assertThat(fake.aborts.get()).as("XFER_ABORTs after a refused XFER_PREPARE: nothing to undo").isZero();
            } else if (fault.action != Action.DIE) {
                // A live target was told to drop its hold (a dead one keeps it, with nobody to release it).
                assertThat(fake.aborts.get()).as("XFER_ABORTs the target got").isPositive();
                assertThat(bed.s2.dataPlane().held(atS2)).as("the target's hold after the rollback").isEmpty();
            }
            streams.stillServedBy("s1", "s1", client, holder[0], before);
        } finally {
            bed.s1Control.afterNextRedirect(null);
        }
    }

    /**
     * The one row that ends at the target: it committed (restored the socket, released the held segments, serves
     * the client) but its XFERED was lost. The source asks on a fresh channel, hears "committed", and lets go.
     */
    @Test
    void aLostXferedAfterTheTargetCommittedLeavesTheConnectionOnTheTarget() throws Exception {
        StreamSession[] holder = new StreamSession[1];
        TcpCounters before = TcpCounters.of(bed.client());
        try (LossyPeerRelay relay = new LossyPeerRelay(bed.tb.server(2),
                new InetSocketAddress(bed.tb.server(2).address(), MigrationBed.RELAY_PORT), bed.cluster.agentAddress(2));
             StreamingClient client = streams.onS1(holder)) {
            relay.loseNextXfered();
            MoveRequest move = new MoveRequest("s1", MigrationBed.RELAYED);
            holder[0].move.set(move);
            move.done().get(60, TimeUnit.SECONDS); // succeeds: the target said it had committed
            assertThat(relay.lostXfered.get()).as("XFERED lost by the relay").isEqualTo(1);
            streams.stillServedBy(MigrationBed.RELAYED, "s2", client, holder[0], before);
        }
    }

}
