package io.socketlauncher.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.socketlauncher.cluster.Cluster;
import io.socketlauncher.server.migration.MigrationTimeouts;
import io.socketlauncher.server.policy.DrainReport;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.NumberedStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A Netty-served line protocol ({@link LineServer}) on the real product (proxy in NAT mode, two servers): on "move"
 * the handler replies, and once the reply is in the socket it transfers the connection; the peer's Netty adapter
 * adopts it and the conversation goes on with its per-connection counter, every echoed byte checked.
 */
class NettyMigrationTest {
    private static final int MOVES = 12;

    @Test
    void aNettyServedConnectionMovesBackAndForthKeepingItsConversation() throws Exception {
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        try (Cluster cluster = Cluster.builder().servers(2).build();
             NettyServer n1 = LineServer.serve(cluster.server(1), group, failures);
             NettyServer n2 = LineServer.serve(cluster.server(2), group, failures);
             LineClient client = LineClient.connect(cluster)) {
            BufferedReader in = client.in();
            PrintWriter out = client.out();
            List<String> servedBy = new ArrayList<>();
            long count = 0, offset = 0;
            for (int move = 0; move <= MOVES; move++) {
                String server = null;
                for (int i = 0; i < 3; i++) {
                    // 1,000 checkable bytes per line, hex-encoded for the line protocol.
                    String data = HexFormat.of().formatHex(NumberedStream.pattern(offset, 500, NumberedStream.CLIENT_TO_SERVER));
                    offset += 500;
                    out.println(data);
                    String reply = in.readLine();
                    assertThat(reply).as("reply %d after %d moves", i, move).isNotNull();
                    String[] parts = reply.split(" ", 3);
                    assertThat(parts).hasSize(3);
                    assertThat(parts[1]).isEqualTo(Long.toString(++count));
                    assertThat(parts[2]).isEqualTo(data);
                    if (server == null) server = parts[0];
                    assertThat(parts[0]).as("one server between two moves").isEqualTo(server);
                }
                servedBy.add(server);
                if (move < MOVES) {
                    out.println("move");
                    assertThat(in.readLine()).isEqualTo("moving " + ++count);
                }
            }
            assertThat(failures).isEmpty();
            for (int i = 1; i < servedBy.size(); i++) {
                assertThat(servedBy.get(i)).as("server after move %d", i).isNotEqualTo(servedBy.get(i - 1));
            }
            System.out.println("served by " + servedBy);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A transfer asked of a channel that another transfer has already taken out of its loop is refused, and touches
     * nothing: it used to take the rollback path, putting the channel back in its loop in the middle of the move.
     */
    @Test
    void aSecondTransferOfAMovingChannelIsRefusedAndHarmsNothing() throws Exception {
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        try (Cluster cluster = Cluster.builder().servers(2).build()) {
            LineServer h1 = new LineServer(cluster.server(1), failures), h2 = new LineServer(cluster.server(2), failures);
            h1.twice = h2.twice = true;
            try (NettyServer n1 = h1.serve(group); NettyServer n2 = h2.serve(group);
                 LineClient client = LineClient.connect(cluster)) {
                BufferedReader in = client.in();
                PrintWriter out = client.out();
                out.println("hello");
                String home = in.readLine().substring(0, 2);
                out.println("move");
                assertThat(in.readLine()).isEqualTo("moving 2");
                for (int i = 3; i < 8; i++) {
                    out.println("after " + i);
                    assertThat(in.readLine()).as("served by the peer alone").isEqualTo((home.equals("s1") ? "s2" : "s1") + " " + i + " after " + i);
                }
                assertThat(failures).isEmpty();
                List<String> second = new ArrayList<>(h1.secondAnswers);
                second.addAll(h2.secondAnswers);
                assertThat(second).singleElement().asString().contains("is being moved or has moved");
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aRefusedTransferPutsTheChannelBackInItsLoopAndTheConversationGoesOn() throws Exception {
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        try (Cluster cluster = Cluster.builder().servers(2).build();
             NettyServer n1 = LineServer.serve(cluster.server(1), group, failures);
             NettyServer n2 = LineServer.serve(cluster.server(2), group, failures);
             LineClient client = LineClient.connect(cluster)) {
            cluster.server(1).acceptTransfers(false);
            cluster.server(2).acceptTransfers(false);
            BufferedReader in = client.in();
            PrintWriter out = client.out();
            out.println("hello");
            String first = in.readLine();
            assertThat(first).matches("s[12] 1 hello");
            String server = first.substring(0, 2);
            out.println("move");
            assertThat(in.readLine()).isEqualTo("moving 2");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (failures.isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(failures).singleElement().asString().contains("takes no connections now");
            // The channel, back in its event loop, reads and answers as before.
            for (int i = 3; i < 6; i++) {
                out.println("still " + i);
                assertThat(in.readLine()).isEqualTo(server + " " + i + " still " + i);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /**
     * The application shuts its event loops down while a transfer it asked for fails (the peer unreachable: the
     * source's frames to it are dropped, so the prepare times out) once the channel has left its loop: the rollback finds no loop to put the channel
     * back in. The transfer still answers, and the connection, which nothing can serve now, is closed rather than
     * left open with nobody reading it. Before, the refusal went to listeners bound to the dead loop, and the
     * transfer's future never completed.
     */
    @Test
    void aRollbackIntoAShutDownEventLoopStillAnswersTheTransfer() throws Exception {
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        EventLoopGroup group1 = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoopGroup group2 = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        MigrationTimeouts t = Cluster.Builder.TESTBED_TIMEOUTS;
        MigrationTimeouts quickPrepare = new MigrationTimeouts(Duration.ofSeconds(2), t.redirect(), t.transfer(),
                Duration.ofSeconds(3), t.guard(), t.drainQuiet(), t.drainMax(), t.forwardLinger());
        try (Cluster cluster = Cluster.builder().servers(2).timeouts(quickPrepare).build();
             NettyServer n1 = LineServer.serve(cluster.server(1), group1, failures);
             NettyServer n2 = LineServer.serve(cluster.server(2), group2, failures);
             LineClient client = LineClient.connect(cluster)) {
            BufferedReader in = client.in();
            PrintWriter out = client.out();
            out.println("hello");
            String first = in.readLine();
            assertThat(first).matches("s[12] 1 hello");
            int source = first.startsWith("s1") ? 1 : 2, peer = 3 - source;
            Host sourceHost = cluster.testbed().server(source);
            String[] dropToPeer = {"OUTPUT", "-p", "tcp", "-d", cluster.agentAddress(peer).getAddress().getHostAddress(),
                    "--dport", Integer.toString(Cluster.AGENT_PORT), "-j", "DROP"};
            sourceHost.iptables("-I", dropToPeer);
            try {
                out.println("move");
                assertThat(in.readLine()).isEqualTo("moving 2");
                // The channel has left its loop once the migration's first frame waits, unacknowledged, in a
                // channel to the peer; the prepare then waits two seconds for its answer.
                String peerAgent = cluster.agentAddress(peer).getAddress().getHostAddress() + ":" + Cluster.AGENT_PORT;
                long stuck = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!unacknowledgedBytesTo(sourceHost, peerAgent) && System.nanoTime() < stuck) Thread.sleep(5);
                assertThat(unacknowledgedBytesTo(sourceHost, peerAgent)).as("a frame to the peer waits: %s", sourceHost.exec("ss", "-tnH", "state", "established").stdout()).isTrue();
                EventLoopGroup sourceLoops = source == 1 ? group1 : group2;
                assertThat(sourceLoops.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS)).isTrue();
                assertThat(failures).as("answered before the rollback").isEmpty();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (failures.isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
                assertThat(failures).as("the transfer's answer").singleElement().asString()
                        .startsWith("s" + source + " -> s" + peer + ": ");
                assertThat(in.readLine()).as("the client sees its connection end").isNull();
                // The adapter has forgotten the closed channel: a drain finds nothing there to move or to report.
                DrainReport report = (source == 1 ? n1 : n2).drain(peers -> Optional.of("s" + peer), Duration.ofSeconds(2))
                        .get(30, TimeUnit.SECONDS);
                assertThat(report.stayed()).as("channels the drain still found served").isEmpty();
                assertThat(report.moved()).as("channels the drain moved").isZero();
            } finally {
                sourceHost.iptables("-D", dropToPeer);
            }
        } finally {
            group1.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            group2.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    /** Whether one of the host's connections to {@code peer} ("address:port") holds sent bytes not acknowledged. */
    private static boolean unacknowledgedBytesTo(Host host, String peer) throws IOException {
        for (String line : host.exec("ss", "-tnH", "state", "established").stdout().split("\n")) {
            String[] f = line.trim().split("\\s+");
            // Recv-Q Send-Q Local Peer
            String to = f.length >= 4 ? f[3].replace("[::ffff:", "").replace("]", "") : ""; // a dual-stack socket's
            if (to.equals(peer) && Long.parseLong(f[1]) > 0) return true;
        }
        return false;
    }
}
