package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.server.migration.MigrationTimeouts;
import io.socketlauncher.server.policy.DrainProgress;
import io.socketlauncher.server.policy.DrainReport;
import io.socketlauncher.server.policy.PolicyAgent;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.TcpCounters;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A deploy's drain: 1,000 idle client connections served by s1 all move to s2 at once, by 1,000 transfer() calls in
 * flight together, and by the library's drain policy ({@link PolicyAgent#drain}, all 1,000 allowed in flight). Before, each connection's request is answered by s1; after, by s2, with the connection's
 * application state (its own number) carried along; every request and answer is checked byte for byte, the proxy
 * maps every flow to s2, and the client's kernel sees no reset, before or after the connections close with FINs.
 */
class DrainThousandIdleConnectionsTest {
    private static final int CONNECTIONS = 1000;
    private static final int CLIENT_THREADS = 4;
    private static final int MESSAGE = 48;
    private static final long IO_TIMEOUT_MILLIS = 60_000;
    /**
     * A thousand handshakes, holds and restores at once on a shared 2-core machine: each step's bound is far above
     * what one migration needs, so that the load of the others can't push one over it (a rollback would be safe, but
     * the test asks that all move in one go).
     */
    private static final MigrationTimeouts GENEROUS = new MigrationTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(30),
            Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(240), Duration.ofNanos(100_000),
            Duration.ofMillis(10), Duration.ofSeconds(2));

    /** How the connections leave s1; returns how many moved, failing on any that stayed or may be lost. */
    @FunctionalInterface
    private interface Drain {
        int run(Cluster cluster, Map<Integer, Connection> atS1) throws Exception;
    }

    @Test
    void aThousandIdleConnectionsMoveOffAServerAtOnce() throws Exception {
        drainsOffS1(DrainThousandIdleConnectionsTest::allTransfersAtOnce);
    }

    /** The library's drain policy: the application parks its idle connections, the agent moves them all. */
    @Test
    void aThousandIdleConnectionsDrainThroughThePolicyAgent() throws Exception {
        drainsOffS1(DrainThousandIdleConnectionsTest::policyAgentDrain);
    }

    private static int allTransfersAtOnce(Cluster cluster, Map<Integer, Connection> atS1) throws Exception {
        long start = System.nanoTime();
        Map<Connection, CompletableFuture<TransferReport>> transfers = new LinkedHashMap<>();
        for (Connection c : atS1.values()) transfers.put(c, cluster.server(1).transfer(c, "s2"));
        long inFlight = transfers.values().stream().filter(f -> !f.isDone()).count();
        int moved = 0;
        Map<String, Integer> stayed = new TreeMap<>();
        List<String> lost = new ArrayList<>();
        for (var e : transfers.entrySet()) {
            try {
                e.getValue().get(300, TimeUnit.SECONDS);
                moved++;
            } catch (ExecutionException failure) {
                if (failure.getCause() instanceof TransferException t && t.stayedOnSource()) {
                    stayed.merge(t.stage() + ": " + t.getMessage().replaceAll("[0-9a-f]{16}|/[0-9.:]+", "*"), 1, Integer::sum);
                } else {
                    lost.add(e.getKey() + ": " + failure.getCause());
                }
            }
        }
        System.out.printf("drain of %d idle connections s1 -> s2 by %d transfer() calls at once (%d in flight after the last call): %d moved, %d stayed on s1, %d lost, in %.2f s%n",
                CONNECTIONS, transfers.size(), inFlight, moved, stayed.values().stream().mapToInt(Integer::intValue).sum(), lost.size(),
                (System.nanoTime() - start) / 1e9);
        System.out.printf("stayed, by reason: %s%n", stayed);
        assertThat(lost).as("transfers whose connection may be lost").isEmpty();
        assertThat(stayed).as("connections that stayed on s1 (rolled back)").isEmpty();
        return moved;
    }

    private static int policyAgentDrain(Cluster cluster, Map<Integer, Connection> atS1) throws Exception {
        // s2 was kept out of new flows while the clients connected; a drain's peer must be a weighted backend.
        cluster.proxy().setWeight("s2", 1);
        try (PolicyAgent policy = PolicyAgent.builder(cluster.server(1)).maxInFlight(CONNECTIONS).start()) {
            List<CompletableFuture<PolicyAgent.Next>> parked = new ArrayList<>();
            for (Connection c : atS1.values()) parked.add(policy.park(c));
            long start = System.nanoTime();
            CompletableFuture<DrainReport> draining = policy.drain(Duration.ofSeconds(300));
            int mostInFlight = 0;
            long deadline = start + 330_000_000_000L;
            while (!draining.isDone() && System.nanoTime() < deadline) {
                mostInFlight = Math.max(mostInFlight, policy.drainProgress().map(DrainProgress::inFlight).orElse(0));
                Thread.sleep(1);
            }
            DrainReport report = draining.get(1, TimeUnit.SECONDS);
            System.out.printf("policy drain of %d idle connections s1 -> s2 (up to %d allowed in flight, at most %d seen): %d moved, %d stayed, %d lost, in %.2f s%n",
                    CONNECTIONS, CONNECTIONS, mostInFlight, report.moved(), report.stayed().size(), report.lost().size(), (System.nanoTime() - start) / 1e9);
            assertThat(report.lost()).as("connections whose fate is unknown").isEmpty();
            assertThat(report.stayed()).as("connections that stayed on s1").isEmpty();
            assertThat(report.proxyWeightProblem()).as("s1's weight at the proxy").isEmpty();
            for (CompletableFuture<PolicyAgent.Next> next : parked) {
                assertThat(next.get(60, TimeUnit.SECONDS)).as("what became of a parked connection").isEqualTo(PolicyAgent.Next.MOVED);
            }
            return report.moved();
        }
    }

    private static void drainsOffS1(Drain drain) throws Exception {
        try (Cluster cluster = Cluster.builder().clients(1).servers(2).timeouts(GENEROUS).build()) {
            Host clientHost = cluster.client(1);
            LauncherServer s1 = cluster.server(1), s2 = cluster.server(2);
            cluster.proxy().setWeight("s2", 0); // every new connection goes to s1
            TcpCounters before = TcpCounters.of(clientHost);
            TcpCounters s2Before = TcpCounters.of(cluster.testbed().server(2));

            int[] clients = connect(clientHost, cluster);
            try {
                Map<Integer, Connection> atS1 = acceptAll(s1, clientHost.address(), "s1", false);
                for (int fd : clients) send(fd, "request 1 from " + Libc.getsockname(fd).getPort());
                for (Connection c : atS1.values()) {
                    expect(c.fd(), "request 1 from " + c.client().getPort());
                    c.applicationState(ByteBuffer.allocate(4).putInt(c.client().getPort()).array());
                    send(c.fd(), "s1 answers " + c.client().getPort());
                }
                for (int fd : clients) expect(fd, "s1 answers " + Libc.getsockname(fd).getPort());

                TcpCounters beforeDrain = TcpCounters.of(clientHost);
                int moved = drain.run(cluster, atS1);
                System.out.printf("client kernel while connecting and the first answers: %s; during the drain: %s%n",
                        beforeDrain.describe(before, "RetransSegs", "TCPSynRetrans", "EstabResets"),
                        TcpCounters.of(clientHost).describe(beforeDrain, "RetransSegs", "TCPSynRetrans", "EstabResets"));
                System.out.printf("s2 kernel (its agent's listener): %s%n",
                        TcpCounters.of(cluster.testbed().server(2)).describe(s2Before, "ListenOverflows", "ListenDrops"));
                assertThat(moved).as("connections moved").isEqualTo(CONNECTIONS);

                Map<Integer, Connection> atS2 = acceptAll(s2, clientHost.address(), "s2", true);
                for (Connection c : atS2.values()) {
                    assertThat(c.arrivedFrom()).as("where %s came from", c).contains("s1");
                    assertThat(ByteBuffer.wrap(c.applicationState()).getInt()).as("application state of %s", c).isEqualTo(c.client().getPort());
                }
                List<FlowInfo> flows = cluster.proxy().flows(Integer.MAX_VALUE).stream()
                        .filter(f -> f.key().client().getAddress().equals(clientHost.address())).toList();
                assertThat(flows).as("the client's flows at the proxy").hasSize(CONNECTIONS).allMatch(f -> f.backendId().equals("s2"));

                for (int fd : clients) send(fd, "request 2 from " + Libc.getsockname(fd).getPort());
                for (Connection c : atS2.values()) {
                    expect(c.fd(), "request 2 from " + c.client().getPort());
                    send(c.fd(), "s2 answers " + ByteBuffer.wrap(c.applicationState()).getInt());
                }
                for (int fd : clients) expect(fd, "s2 answers " + Libc.getsockname(fd).getPort());
                assertThat(TcpCounters.of(clientHost).since(before, "EstabResets")).as("client connections reset").isZero();

                // Clean ends: the client's FIN, read as the end of stream at s2, answered by s2's FIN.
                for (int fd : clients) Libc.shutdown(fd, Libc.SHUT_WR);
                for (Connection c : atS2.values()) {
                    expectEnd(c.fd());
                    c.close();
                }
                for (int fd : clients) expectEnd(fd);
                TcpCounters after = TcpCounters.of(clientHost);
                System.out.printf("client kernel: %s%n", after.describe(before, "EstabResets", "RetransSegs", "InErrs", "AttemptFails"));
                assertThat(after.since(before, "EstabResets")).as("client connections reset").isZero();
            } finally {
                for (int fd : clients) Libc.closeQuietly(fd);
            }
        }
    }

    /** CONNECTIONS client sockets through the service address, opened by several threads in the client's namespace. */
    private static int[] connect(Host host, Cluster cluster) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(CLIENT_THREADS, host.namespace().threadFactory());
        try {
            List<Future<int[]>> parts = new ArrayList<>();
            for (int t = 0; t < CLIENT_THREADS; t++) {
                parts.add(pool.submit(() -> {
                    int[] fds = new int[CONNECTIONS / CLIENT_THREADS];
                    for (int i = 0; i < fds.length; i++) {
                        fds[i] = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                        Libc.connect(fds[i], cluster.service());
                    }
                    return fds;
                }));
            }
            int[] all = new int[0];
            for (Future<int[]> p : parts) {
                int[] some = p.get(120, TimeUnit.SECONDS);
                int[] joined = Arrays.copyOf(all, all.length + some.length);
                System.arraycopy(some, 0, joined, all.length, some.length);
                all = joined;
            }
            return all;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Accepts CONNECTIONS connections of the client (closing the proxy's health checks), keyed by client port. */
    private static Map<Integer, Connection> acceptAll(LauncherServer server, InetAddress client, String id, boolean arrived) throws Exception {
        Map<Integer, Connection> byPort = new LinkedHashMap<>();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (byPort.size() < CONNECTIONS) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " got " + byPort.size() + " of " + CONNECTIONS + " connections within 120 s");
            }
            Connection c = server.accept(Duration.ofMillis(200));
            if (c == null) continue;
            if (!c.client().getAddress().equals(client)) {
                c.close();
                continue;
            }
            assertThat(c.arrivedFrom().isPresent()).as("%s arrived by transfer", c).isEqualTo(arrived);
            assertThat(byPort.put(c.client().getPort(), c)).as("a second connection of port %d", c.client().getPort()).isNull();
        }
        return byPort;
    }

    private static void send(int fd, String text) throws IOException {
        byte[] m = Arrays.copyOf(text.getBytes(StandardCharsets.US_ASCII), MESSAGE);
        Libc.sendFully(fd, m, 0, m.length);
    }

    /** Reads one fixed-size message and checks every byte of it. */
    private static void expect(int fd, String text) throws IOException {
        byte[] want = Arrays.copyOf(text.getBytes(StandardCharsets.US_ASCII), MESSAGE);
        byte[] got = new byte[MESSAGE];
        int have = 0;
        long deadline = System.nanoTime() + IO_TIMEOUT_MILLIS * 1_000_000;
        while (have < MESSAGE) {
            if (System.nanoTime() > deadline) throw new AssertionError("fd " + fd + ": no '" + text + "' within " + IO_TIMEOUT_MILLIS + " ms");
            Libc.poll(fd, Libc.POLLIN, 100);
            int n = Libc.recv(fd, got, have, MESSAGE - have, Libc.MSG_DONTWAIT);
            if (n == 0) throw new AssertionError("fd " + fd + ": the stream ended before '" + text + "'");
            if (n > 0) have += n;
        }
        assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo(new String(want, StandardCharsets.US_ASCII));
    }

    private static void expectEnd(int fd) throws IOException {
        byte[] one = new byte[1];
        long deadline = System.nanoTime() + IO_TIMEOUT_MILLIS * 1_000_000;
        while (true) {
            if (System.nanoTime() > deadline) throw new AssertionError("fd " + fd + ": no end of stream within " + IO_TIMEOUT_MILLIS + " ms");
            Libc.poll(fd, Libc.POLLIN, 100);
            int n = Libc.recv(fd, one, 0, 1, Libc.MSG_DONTWAIT);
            if (n == 0) return;
            if (n > 0) throw new AssertionError("fd " + fd + ": a byte after the last message");
        }
    }
}
