package io.socketlauncher.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.socketlauncher.cluster.Cluster;
import io.socketlauncher.proxy.control.BackendInfo;
import io.socketlauncher.server.policy.DrainReport;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A Netty application ({@link LineServer}) drained for a deploy: every channel of s1 gets a drain request and its
 * handler moves it to s2 between two lines, with its per-connection counter; one channel whose handler keeps it (it
 * said "stay") is reported as stayed; s1 takes no new flows afterwards.
 */
class NettyDrainTest {
    private static final int CONNECTIONS = 12;

    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final List<LineClient> clients = new ArrayList<>();
    private EventLoopGroup group;
    private Cluster cluster;
    private NettyServer n1, n2;

    /** Two servers each served by the line application; every new connection goes to s1. */
    @BeforeEach
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        cluster = Cluster.builder().servers(2).build();
        n1 = LineServer.serve(cluster.server(1), group, failures);
        n2 = LineServer.serve(cluster.server(2), group, failures);
        cluster.proxy().setWeight("s2", 0);
    }

    @AfterEach
    void stop() throws Exception {
        try {
            for (LineClient c : clients) c.socket().close();
            if (n1 != null) n1.close();
            if (n2 != null) n2.close();
            if (cluster != null) cluster.close();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void everyChannelMovesOnTheDrainsRequestAndOneThatIsKeptIsReported() throws Exception {
        for (int i = 0; i < CONNECTIONS; i++) connect(i == 0 ? "stay" : "hello " + i);
        cluster.proxy().setWeight("s2", 1);

        DrainReport report = n1.drain(peers -> Optional.of("s2"), Duration.ofSeconds(2)).get(30, TimeUnit.SECONDS);

        assertThat(failures).isEmpty();
        assertThat(report.moved()).isEqualTo(CONNECTIONS - 1);
        assertThat(report.lost()).isEmpty();
        InetAddress clientHost = cluster.client(1).address();
        assertThat(report.stayed()).filteredOn(s -> s.connection().client().getAddress().equals(clientHost)).singleElement()
                .satisfies(s -> {
                    assertThat(s.connection().client().getPort()).as("the one that said stay").isEqualTo(clients.get(0).socket().getLocalPort());
                    assertThat(s.reason()).isEqualTo("not moved within 2000 ms: its handler did not move it on the drain's request");
                });
        assertThat(report.stayed()).filteredOn(s -> !s.connection().client().getAddress().equals(clientHost))
                .as("the others: health checks open at the deadline, from the proxy's host")
                .allSatisfy(s -> assertThat(s.connection().client().getAddress()).isEqualTo(cluster.testbed().server(1).gateway()));
        assertThat(report.proxyWeightProblem()).isEmpty();
        for (int i = 0; i < CONNECTIONS; i++) {
            String server = i == 0 ? "s1" : "s2";
            assertThat(clients.get(i).ask("after")).as("connection %d", i).isEqualTo(server + " 2 after");
        }
        assertThat(cluster.proxy().backends()).filteredOn(b -> b.id().equals("s1")).extracting(BackendInfo::weight)
                .as("s1 takes no new flows").containsExactly(0);
    }

    /** A peer that refuses every transfer: each channel is asked three times, then reported with the last refusal. */
    @Test
    void aChannelWhoseTransfersAllFailIsAskedThreeTimesAndStaysServed() throws Exception {
        for (int i = 0; i < 3; i++) connect("hello " + i);
        cluster.server(2).acceptTransfers(false);

        DrainReport report = n1.drain(peers -> Optional.of("s2"), Duration.ofSeconds(20)).get(30, TimeUnit.SECONDS);

        assertThat(report.moved()).isZero();
        InetAddress clientHost = cluster.client(1).address();
        assertThat(report.stayed()).filteredOn(st -> st.connection().client().getAddress().equals(clientHost)).hasSize(3)
                .allSatisfy(st -> assertThat(st.reason()).startsWith("its 3 transfers failed, the last: ").contains("takes no connections now"));
        assertThat(report.took()).as("done when the last one stayed, not at the deadline").isLessThan(Duration.ofSeconds(20));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); // the handlers hear of the last refusal on their own thread
        while (failures.size() < 9 && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(failures).as("three refused transfers each").hasSize(9).allMatch(f -> f.contains("takes no connections now"));
        for (int i = 0; i < 3; i++) assertThat(clients.get(i).ask("still")).isEqualTo("s1 2 still");
    }

    @Test
    void closingTheAdapterFailsADrainStillWaiting() throws Exception {
        connect("stay");
        CompletableFuture<DrainReport> drain = n1.drain(peers -> Optional.of("s2"), Duration.ofSeconds(60));
        n1.close();
        assertThatThrownBy(() -> drain.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().hasMessage("the Netty adapter of s1 was closed");
        assertThat(clients.get(0).ask("still")).as("the channel is still served").isEqualTo("s1 2 still");
    }

    /** A client of the service, through the VIP, that has had its first line answered by s1. */
    private void connect(String first) throws Exception {
        LineClient client = LineClient.connect(cluster);
        clients.add(client);
        assertThat(client.ask(first)).isEqualTo("s1 1 " + first);
    }
}
