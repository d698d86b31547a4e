package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.cluster.StreamSession.MoveRequest;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.testbed.TcpCounters;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The same migration over IPv6: the VIP, the backends and the servers' sockets on the testbed's IPv6 addresses, so
 * that the proxy's NAT, the hold and the forwarding programs, the repair and the protocol's flow keys all carry
 * IPv6 flows. A client streams numbered bytes both ways while its connection moves between s1 and s2.
 */
class Ipv6MigrationTest {
    private static final int MIGRATIONS = 200;

    @Test
    void anIpv6StreamingConnectionMovesBackAndForthWithoutLossOrReset() throws Exception {
        Map<Integer, StreamSession> sessions = new ConcurrentHashMap<>();
        try (Cluster cluster = Cluster.builder().clients(1).servers(2).ipv6().build();
             StreamingApp app1 = new StreamingApp(cluster.server(1), cluster.client(1).address6(), sessions);
             StreamingApp app2 = new StreamingApp(cluster.server(2), cluster.client(1).address6(), sessions)) {
            assertThat(cluster.service().getAddress()).isInstanceOf(Inet6Address.class);
            TcpCounters before = TcpCounters.of(cluster.client(1));
            StreamingClient client = new StreamingClient(cluster.client(1), cluster.service());
            StreamSession session = new StreamSession(client.port);
            sessions.put(client.port, session);
            try (client) {
                client.start();
                await("the stream to start", () -> session.progress > 0 && client.received > 0);
                FlowKey flow = new FlowKey(new InetSocketAddress(cluster.client(1).address6(), client.port), cluster.service());
                for (int i = 1; i <= MIGRATIONS && session.failure.get() == null && client.failure.get() == null; i++) {
                    String from = session.servedBy;
                    String to = from.equals("s1") ? "s2" : "s1";
                    MoveRequest move = new MoveRequest(from, to);
                    session.move.set(move);
                    session.latencyMicros.recordValue(Math.max(1, move.done().get(30, TimeUnit.SECONDS) / 1000));
                    await("the stream to go on at " + to, () -> to.equals(session.servedBy) || session.failure.get() != null);
                    String backend = cluster.proxy().flows(Integer.MAX_VALUE).stream().filter(f -> f.key().equals(flow))
                            .findFirst().orElseThrow().backendId();
                    assertThat(backend).as("backend at the proxy after migration " + i).isEqualTo(to);
                    Thread.sleep(5);
                }
                client.finish(30_000);
                assertThat(session.serverDone.await(30, TimeUnit.SECONDS)).as("server saw the client's end").isTrue();
            }
            assertThat(session.failure.get()).as("server-side failure").isNull();
            assertThat(client.failure.get()).as("client-side failure").isNull();
            assertThat(session.migrations).as("migrations").isEqualTo(MIGRATIONS);
            assertThat(session.serverReceived).as("client bytes checked by the servers").isEqualTo(client.sent).isPositive();
            assertThat(client.received).as("server bytes checked by the client").isEqualTo(session.serverSent).isPositive();
            TcpCounters after = TcpCounters.of(cluster.client(1));
            System.out.printf("IPv6 migration: %d migrations, %d + %d bytes checked, %d late segments forwarded; latency p50 %d us, "
                    + "p99 %d us; client kernel: %s%n", session.migrations, session.serverReceived, client.received,
                    cluster.server(1).lateSegmentsForwarded() + cluster.server(2).lateSegmentsForwarded(),
                    session.latencyMicros.getValueAtPercentile(50),
                    session.latencyMicros.getValueAtPercentile(99),
                    after.describe(before, "RetransSegs", "TCPLossProbes", "TCPFastRetrans", "EstabResets"));
            assertThat(after.since(before, "EstabResets")).as("client resets").isZero();
            assertThat(after.since(before, "TCPFastRetrans")).as("client fast retransmits (reordering or loss)").isZero();
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(1);
        }
    }
}
