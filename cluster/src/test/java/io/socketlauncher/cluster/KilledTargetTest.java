package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.bpf.hold.HoldProgram;
import io.socketlauncher.cluster.StreamSession.MoveRequest;
import io.socketlauncher.proxy.control.ControlServer;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.server.Peer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.TcpCounters;
import io.socketlauncher.testbed.Testbed;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The target killed for real: s3 is a real {@link io.socketlauncher.server.LauncherServer} in a process of its own
 * ({@link TargetServerMain}), and the test {@code kill -9}s it at one step of a migration from s1, cued by a relay
 * on the agent channel (which reads the frames' clear headers) or by the proxy's control server. The connection,
 * streaming numbered bytes both ways, must stay on s1, byte-exact, with no reset in the client's namespace.
 *
 * <p>Not here: a kill after the target restored the socket (between its commit and XFERED). The connection then
 * lives in the target's process and dies with it, as it would with the source's; the deterministic half of that
 * window (XFER read, not yet restored) is {@link MigrationFaultTest}'s TARGET_KILLED_AFTER_XFER_BEFORE_XFERED.
 */
class KilledTargetTest {
    private static final int RELAY_PORT = 7402;

    enum Kill {
        /** The target answered HOLDING (the flow held there) and died before the source heard it. */
        AFTER_HOLDING,
        /** The proxy re-pointed the flow at the dead target: the client's segments reach a host whose agent is gone. */
        AFTER_REDIRECTED,
        /** The transfer (the socket's state) was on its way to the target when it died. */
        DURING_XFER
    }

    private static Cluster cluster;
    private static Testbed tb;
    private static LossyControl s1Control;
    private static ControlServer lossyServer;
    private static LossyPeerRelay relay;
    private static final Map<Integer, StreamSession> sessions = new ConcurrentHashMap<>();
    private static StreamingApp app1, app2;
    private static ClusterStreams streams;

    @BeforeAll
    static void up() throws Exception {
        // Which channels exist is the test's to decide: s1's proxy and its way to s3 start only later.
        cluster = Cluster.builder().clients(1).servers(3).warmChannels(0).customize((bed, i, b) -> {
            if (i != 1) return;
            b.proxy(lossyAddress(bed));
            b.peer(new Peer("s3", new InetSocketAddress(bed.server(3).address(), RELAY_PORT)));
        }).build();
        tb = cluster.testbed();
        // s3 runs in a child process instead; no new connection goes there.
        cluster.server(3).close();
        cluster.proxy().setWeight("s3", 0);
        s1Control = new LossyControl(cluster.proxy(), Cluster.Builder.TESTBED_TIMEOUTS.redirect().toMillis() + 2_000);
        ServerSocketChannel bound = tb.lb().namespace().call(() -> ServerSocketChannel.open().bind(lossyAddress(tb)));
        lossyServer = ControlServer.start(bound, cluster.key(), s1Control);
        relay = new LossyPeerRelay(tb.server(3), new InetSocketAddress(tb.server(3).address(), RELAY_PORT), cluster.agentAddress(3));
        app1 = new StreamingApp(cluster.server(1), tb.client(1).address(), sessions);
        app2 = new StreamingApp(cluster.server(2), tb.client(1).address(), sessions);
        streams = new ClusterStreams(cluster, sessions);
    }

    private static InetSocketAddress lossyAddress(Testbed bed) {
        return new InetSocketAddress(bed.server(1).gateway(), Cluster.CONTROL_PORT + 1);
    }

    @AfterAll
    static void down() throws Exception {
        try {
            if (app1 != null) app1.close();
            if (app2 != null) app2.close();
            if (relay != null) relay.close();
            if (lossyServer != null) lossyServer.close();
            // The last killed s3's hold program, pinned.
            if (tb != null) tb.server(3).namespace().call(() -> {
                HoldProgram.detachStale();
                return null;
            });
        } finally {
            if (cluster != null) cluster.close();
        }
    }

    /** Starts s3 in a process of its own; returns once it serves. */
    private static Process startTarget() throws Exception {
        Host s3 = tb.server(3);
        // Not through ip netns exec (the server enters its namespace itself): that gives the process a /sys of its own,
        // without bpffs, where the hold program could not be pinned. Pinned, a killed s3's hold program stays and keeps
        // the flows it held silent (no reset from s3's kernel); the next start replaces it.
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), TargetServerMain.class.getName(),
                s3.name(), "s3", s3.address().getHostAddress(), cluster.service().getAddress().getHostAddress(),
                Integer.toString(cluster.service().getPort()), cluster.control().getAddress().getHostAddress(),
                Integer.toString(cluster.control().getPort()), HexFormat.of().formatHex(cluster.key())).start();
        CompletableFuture<Void> ready = new CompletableFuture<>();
        StringBuilder output = new StringBuilder();
        Thread.ofPlatform().daemon().name("s3-output").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.equals("READY")) ready.complete(null);
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                }
            } catch (Exception e) {
                // the process died
            }
            ready.completeExceptionally(new IllegalStateException("s3 ended before it served"));
        });
        Thread.ofPlatform().daemon().name("s3-errors").start(() -> {
            try {
                p.getErrorStream().transferTo(System.err);
            } catch (Exception e) {
                // the process died
            }
        });
        try {
            ready.get(120, TimeUnit.SECONDS);
        } catch (Exception e) {
            p.destroyForcibly();
            throw new AssertionError("s3 did not start: " + output, e);
        }
        try {
            cluster.proxy().checkHealthNow();
        } catch (Exception | AssertionError e) {
            p.destroyForcibly(); // not started through the testbed: nothing else would end it
            throw e;
        }
        return p;
    }

    private static void kill(Process p) {
        p.destroyForcibly(); // SIGKILL
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) throw new IllegalStateException("s3 survived SIGKILL for 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @ParameterizedTest(name = "target killed {0}")
    @EnumSource(Kill.class)
    void theConnectionStaysOnTheSourceWhenTheTargetIsKilled(Kill when) throws Exception {
        Process target = startTarget();
        StreamSession[] holder = new StreamSession[1];
        TcpCounters before = TcpCounters.of(tb.client(1));
        try (StreamingClient client = streams.onS1(holder)) {
            // SIGKILL only, no waiting for the exit: a killed process runs no more code of its own, and the source's
            // bound on the step (here the proxy's reply) must not be spent waiting for the kernel to tear it down.
            Runnable sigkill = target::destroyForcibly;
            switch (when) {
                case AFTER_HOLDING -> relay.beforeNext(Set.of(MessageType.HOLDING), sigkill);
                case AFTER_REDIRECTED -> s1Control.afterNextRedirect(sigkill);
                case DURING_XFER -> relay.beforeNext(Set.of(MessageType.XFER_PART, MessageType.XFER), sigkill);
            }
            MoveRequest move = new MoveRequest("s1", "s3");
            holder[0].move.set(move);
            TransferException t;
            try {
                move.done().get(120, TimeUnit.SECONDS);
                throw new AssertionError("the transfer to a killed s3 succeeded");
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(TransferException.class);
                t = (TransferException) e.getCause();
            }
            assertThat(target.waitFor(30, TimeUnit.SECONDS)).as("s3 was killed").isTrue();
            assertThat(target.exitValue()).as("s3's exit status (SIGKILL)").isEqualTo(137);
            assertThat(t.stage()).as(t.getMessage()).isEqualTo(TransferException.Stage.XFER);
            assertThat(t.stayedOnSource()).as("stayed on the source: " + t.getMessage()).isTrue();
            streams.stillServedBy("s1", "s1", client, holder[0], before);
        } finally {
            relay.beforeNext(Set.of(), null);
            s1Control.afterNextRedirect(null);
            kill(target);
        }
    }
}
