package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.cluster.StreamSession.MoveRequest;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferException.Stage;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.testbed.TcpCounters;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The proxy carries out the REDIRECT to the target but its reply is lost, and then it can't be reached for the whole
 * rollback time: the source can't tell where the flow points. It keeps the connection, and the target, instead of
 * dropping its hold, forwards the flow to it (a hand-back); once the proxy answers again, the source points the flow
 * back at itself and the target's forwarding ends. With the old behaviour (the hold discarded), the client's connection
 * is reset here. The target does its data-plane work itself, or through a privileged agent.
 */
class HandBackTest {
    @ParameterizedTest(name = "target through its agent: {0}")
    @ValueSource(booleans = {false, true})
    void aRedirectWhoseOutcomeStaysUnknownIsHandedBackAndTheConnectionStaysOnTheSource(boolean targetThroughAgent) throws Exception {
        Map<Integer, StreamSession> sessions = new ConcurrentHashMap<>();
        try (MigrationBed bed = MigrationBed.start(targetThroughAgent);
             StreamingApp app1 = new StreamingApp(bed.s1, bed.client().address(), sessions);
             StreamingApp app2 = new StreamingApp(bed.s2, bed.client().address(), sessions)) {
            ClusterStreams streams = new ClusterStreams(bed.cluster, sessions);
            StreamSession[] holder = new StreamSession[1];
            TcpCounters before = TcpCounters.of(bed.client());
            try (StreamingClient client = streams.onS1(holder)) {
                FlowKey key = streams.flow(client);
                FlowTuple atS2 = new FlowTuple(key.client(), bed.s2.listenAddress());
                HoldPlane s2Plane = bed.s2Plane();
                bed.s1Control.loseNextRedirectedTo("s2");
                bed.s1Control.unreachableFor("s1");
                try {
                    TransferException t = streams.failedMove(holder[0], "s2");
                    assertThat(t.stage()).as(t.getMessage()).isEqualTo(Stage.REDIRECT);
                    assertThat(t.stayedOnSource()).as(t.getMessage()).isTrue();
                    assertThat(t.getMessage()).contains("the target forwards it here");
                    assertThat(streams.backendAtTheProxy(key)).as("the proxy still points the flow at the target").isEqualTo("s2");
                    StreamSession session = holder[0];
                    ClusterStreams.goesOn("both streams to go on at s1 through s2's forwarding", client, session);
                    assertThat(session.servedBy).isEqualTo("s1");
                    assertThat(s2Plane.forwarded(atS2)).as("segments s2 forwarded to s1").isPositive();
                    assertThat(s2Plane.held(atS2)).as("s2 holds nothing").isEmpty();
                    MoveRequest again = new MoveRequest("s1", "s2");
                    session.move.set(again);
                    assertThatThrownBy(() -> again.done().get(60, TimeUnit.SECONDS)).as("no new migration meanwhile")
                            .hasMessageContaining("without the proxy's word");
                } finally {
                    bed.s1Control.reachable();
                    bed.s1Control.loseNextRedirectedTo(null);
                }
                ClusterStreams.await("the proxy to point the flow at s1 again", () -> "s1".equals(streams.backendAtTheProxy(key)));
                ClusterStreams.await("s2's forwarding to end", () -> forwarded(s2Plane, atS2) < 0);
                streams.stillServedBy("s1", "s1", client, holder[0], before);
            }
        }
    }

    private static long forwarded(HoldPlane plane, FlowTuple flow) {
        try {
            return plane.forwarded(flow);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
