package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.cluster.StreamSession.MoveRequest;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.TcpCounters;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One client streaming numbered bytes both ways through the cluster's service while its connection moves between s1
 * and s2, then the checks every such test makes: every byte arrived, in order, once; no reset, no fast retransmit at the
 * client; after each move the proxy sends the flow to the target.
 */
final class BackAndForth {
    private BackAndForth() {}

    /** {@code client}: client host c1's address the connection leaves from (IPv4 or IPv6, as the service). */
    static void run(Cluster cluster, String label, InetAddress client, int migrations) throws Exception {
        Host host = cluster.client(1);
        Map<Integer, StreamSession> sessions = new ConcurrentHashMap<>();
        try (StreamingApp app1 = new StreamingApp(cluster.server(1), cluster.seenFrom(client), sessions);
             StreamingApp app2 = new StreamingApp(cluster.server(2), cluster.seenFrom(client), sessions)) {
            TcpCounters before = TcpCounters.of(host);
            StreamingClient stream = new StreamingClient(host, cluster.service());
            FlowKey flow = new FlowKey(new InetSocketAddress(client, stream.port), cluster.service());
            StreamSession session = new StreamSession(stream.port);
            // The servers tell connections apart by the port they see: the client's, or in full NAT the proxy's.
            sessions.put(cluster.seenAs(flow.client()).getPort(), session);
            try (stream) {
                stream.start();
                await("the stream to start", () -> session.progress > 0 && stream.received > 0);
                for (int i = 1; i <= migrations && session.failure.get() == null && stream.failure.get() == null; i++) {
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
                stream.finish(30_000);
                assertThat(session.serverDone.await(30, TimeUnit.SECONDS)).as("server saw the client's end").isTrue();
            }
            assertThat(session.failure.get()).as("server-side failure").isNull();
            assertThat(stream.failure.get()).as("client-side failure").isNull();
            assertThat(session.migrations).as("migrations").isEqualTo(migrations);
            assertThat(session.serverReceived).as("client bytes checked by the servers").isEqualTo(stream.sent).isPositive();
            assertThat(stream.received).as("server bytes checked by the client").isEqualTo(session.serverSent).isPositive();
            TcpCounters after = TcpCounters.of(host);
            System.out.printf("%s: %d migrations, %d + %d bytes checked, %d late segments forwarded; latency p50 %d us, "
                    + "p99 %d us; client kernel: %s%n", label, session.migrations, session.serverReceived, stream.received,
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
