package io.socketlauncher.bench.migrate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.socketlauncher.cluster.Cluster;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.server.agent.RepairAgent;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NetworkNamespace;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Machine;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.TcpCounters;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;

/**
 * Live migration on a {@link Cluster} (the eBPF proxy in NAT mode on its TC hook, two servers, one client host), in one run per
 * privilege mode (repair in the server process, or through the privileged repair agent):
 * <ul>
 *   <li>latency: one connection moved s1 -> s2 -> s1 ... with bytes in flight both ways at every move; from
 *       {@code transfer()} called to the target's XFERED at the source (the peer has restored the socket, released
 *       the held segments into it and handed it to its application: it serves the client), as the
 *       {@link TransferReport} times it; beside it the application's view, until the thread that called
 *       {@code transfer()} has the result and the target's application has taken the connection (two wake-ups of
 *       ordinary threads, which on two busy cores now and then wait a scheduler slice, milliseconds);</li>
 *   <li>round trip: right after, as many exchanges between the servers' migration agents (PING, PONG), timed as a
 *       migration is: the floor of its latency, since a migration needs at least one, and the latency's p50 in
 *       units of it;</li>
 *   <li>rate: many connections, each moved again as soon as its previous move completed, all at once, counted once
 *       the JIT has compiled what moving many at once runs;</li>
 *   <li>bulk: one connection streaming client -> server as fast as it can, in rounds alternating "moved every
 *       100 ms" and "not moved" (interleaved, so both see the same machine), as a throughput ratio, once
 *       unmeasured rounds brought the stream up to speed (at least three, the last two within 3%);</li>
 * </ul>
 * Every byte of every stream is checked at its receiver; the client host's kernel counters (retransmitted
 * segments, resets) are read around each mode.
 */
public final class MigrateBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PING = 1024;
    private static final int BULK_CHUNK = 64 * 1024;

    private MigrateBenchmark() {}

    /** How the servers do the privileged work of a migration. */
    public enum Mode {
        IN_PROCESS, AGENT
    }

    /**
     * Channels each server opens ahead to its peer and the proxy: as many as its migration threads (the library's
     * default), the most migrations that leave it at once, as a server configured for the rate phase's burst would.
     */
    private static final int WARM_CHANNELS = 64;

    /** The steps of a migration in {@link TransferReport#stepNanos}'s order. */
    private static final String[] STEP_NAMES = {"prepare_to_holding", "drain", "capture", "redirected_wait", "xfer_to_xfered"};

    private static Map<String, Object> stepsOf(TransferReport r) {
        long[] took = r.stepNanos();
        Map<String, Object> steps = new LinkedHashMap<>();
        for (int i = 0; i < STEP_NAMES.length; i++) steps.put(STEP_NAMES[i], round(took[i] / 1e3));
        return steps;
    }

    private record Plan(int warmup, int latencyMoves, int rateConnections, long rateNanos, int bulkRounds, long bulkRoundNanos) {}

    /** {@code fullNat}: the proxy serves the service in full NAT (one source address), else in NAT mode. */
    public static Map<String, Object> run(boolean quick, boolean fullNat, Consumer<String> progress) throws Exception {
        Plan plan = quick ? new Plan(200, 1000, 64, 3_000_000_000L, 6, 1_000_000_000L)
                : new Plan(500, 5000, 256, 10_000_000_000L, 10, 2_000_000_000L);
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, Object> headline = new LinkedHashMap<>();
        out.put("headline", headline);
        out.put("benchmark", "migrate");
        out.put("quick", quick);
        out.put("where", "Cluster: client c1 -> VIP through the TC proxy (" + (fullNat ? "full NAT" : "NAT")
                + ") on lb -> servers s1, s2 (LauncherServer), all on one machine");
        out.put("machine", Machine.facts());
        out.put("proxy_mode", fullNat ? "FULL_NAT" : "NAT");
        out.put("load_average_at_start", Machine.loadAverage());
        boolean verified = true;
        for (Mode mode : Mode.values()) {
            Map<String, Object> m = measure(mode, fullNat, plan, progress);
            out.put(mode.name().toLowerCase(), m);
            verified &= Boolean.TRUE.equals(m.get("verified"));
            String suffix = mode == Mode.IN_PROCESS ? "" : "_agent";
            @SuppressWarnings("unchecked") Map<String, Object> lat = (Map<String, Object>) m.get("latency_us");
            headline.put("migrations" + suffix, m.get("migrations"));
            headline.put("p50_us" + suffix, lat.get("p50"));
            headline.put("p99_us" + suffix, lat.get("p99"));
            headline.put("max_us" + suffix, lat.get("max"));
            @SuppressWarnings("unchecked") Map<String, Object> roundTrip = (Map<String, Object>) m.get("round_trip_us");
            headline.put("round_trip_p50_us" + suffix, roundTrip.get("p50"));
            headline.put("migrations_per_s" + suffix, m.get("migrations_per_s"));
            headline.put("bulk_ratio" + suffix, m.get("bulk_ratio"));
            headline.put("client_retransmits" + suffix, m.get("client_retransmits"));
            headline.put("client_resets" + suffix, m.get("client_resets"));
        }
        headline.put("verified", verified);
        out.put("load_average_at_end", Machine.loadAverage());
        out.put("goals", Map.of("p50_us", 100, "p99_us", 1000, "migrations_per_s", 10_000, "bulk_ratio", 0.95));
        return out;
    }

    private static Map<String, Object> measure(Mode mode, boolean fullNat, Plan plan, Consumer<String> progress) throws Exception {
        progress.accept(mode + ": starting the cluster");
        try (Deployment deployment = new Deployment(mode, fullNat); Arrivals arrivals = new Arrivals(deployment.cluster())) {
            Cluster cluster = deployment.cluster();
            Host client = cluster.client(1);
            TcpCounters before = TcpCounters.of(client);
            PhaseCounters phases = new PhaseCounters(cluster);
            TcpCounters s1Before = TcpCounters.of(cluster.testbed().server(1)), s2Before = TcpCounters.of(cluster.testbed().server(2));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("mode", mode == Mode.IN_PROCESS ? "repair and hold plane in the server process"
                    : "repair and hold plane through the privileged agent (unix socket, SCM_RIGHTS)");

            progress.accept(mode + ": warm-up, at least " + plan.warmup() + " migrations, until the JIT compiler is quiet");
            m.put("warmup", warmUp(cluster, arrivals, plan.warmup()));
            progress.accept(mode + ": latency, " + plan.latencyMoves() + " migrations of one connection");
            Histogram latency = new Histogram(60_000_000_000L, 3);
            Histogram application = new Histogram(60_000_000_000L, 3);
            Histogram[] steps = new Histogram[5];
            for (int i = 0; i < steps.length; i++) steps[i] = new Histogram(60_000_000_000L, 3);
            try (Pair p = Pair.open(cluster, arrivals)) {
                for (int i = 0; i < plan.latencyMoves(); i++) {
                    TransferReport r = p.moveWithBytesInFlight();
                    if (r == null) continue;
                    latency.recordValue(r.transferredNanos());
                    application.recordValue(p.lastMoveNanos);
                    long[] took = r.stepNanos();
                    for (int s = 0; s < steps.length; s++) steps[s].recordValue(Math.max(0, took[s]));
                    if ((i + 1) % 250 == 0) progress.accept(mode + ":   " + (i + 1) + " migrations, p50 "
                            + latency.getValueAtPercentile(50) / 1000 + " us");
                }
            }
            m.put("latency_us", percentiles(latency));
            m.put("application_latency_us", percentiles(application));
            Map<String, Object> stepFigures = new LinkedHashMap<>();
            for (int s = 0; s < steps.length; s++) stepFigures.put(STEP_NAMES[s], percentiles(steps[s]));
            m.put("steps_us", stepFigures);
            progress.accept(mode + ": round trips, " + plan.latencyMoves() + " PING exchanges between the servers' migration agents");
            Histogram roundTrip = roundTrips(cluster, plan.latencyMoves());
            m.put("round_trip_us", percentiles(roundTrip));
            m.put("p50_in_round_trips", ratio(latency.getValueAtPercentile(50) / (double) roundTrip.getValueAtPercentile(50)));
            phases.end("latency");

            progress.accept(mode + ": rate, " + plan.rateConnections() + " connections moving concurrently");
            Rate rate = rate(cluster, arrivals, plan.rateConnections(), plan.rateNanos());
            m.put("concurrent_connections", plan.rateConnections());
            m.put("concurrent_migrations", rate.migrations);
            m.put("concurrent_seconds", round(rate.nanos / 1e9));
            m.put("migrations_per_s", Math.round(rate.migrations / (rate.nanos / 1e9)));
            m.put("concurrent_latency_us", percentiles(rate.latency));
            m.put("concurrent_per_second", rate.perSecond);
            m.put("concurrent_jit_ms", rate.jitMillis);
            Map<String, Object> rateWarmup = new LinkedHashMap<>();
            rateWarmup.put("seconds", rate.warmupSeconds);
            rateWarmup.put("jit_quiet", rate.warmupJitQuiet);
            m.put("concurrent_warmup", rateWarmup);
            if (rate.slowest != null) m.put("concurrent_slowest_steps_us", stepsOf(rate.slowest));
            phases.end("rate");

            progress.accept(mode + ": bulk, " + plan.bulkRounds() + " rounds alternating moved every 100 ms / not moved");
            Bulk bulk = bulk(cluster, arrivals, plan, progress, mode);
            m.put("bulk_moved_mbit_s", round(bulk.movedBytes * 8 / (bulk.movedNanos / 1e3)));
            m.put("bulk_still_mbit_s", round(bulk.stillBytes * 8 / (bulk.stillNanos / 1e3)));
            m.put("bulk_migrations", bulk.migrations);
            Map<String, Object> bulkWarmup = new LinkedHashMap<>();
            bulkWarmup.put("rounds", bulk.warmupRounds);
            bulkWarmup.put("steady", bulk.warmupSteady);
            m.put("bulk_warmup", bulkWarmup);
            m.put("bulk_ratio", ratio((bulk.movedBytes / (double) bulk.movedNanos) / (bulk.stillBytes / (double) bulk.stillNanos)));
            phases.end("bulk");
            m.put("phases", phases.figures());

            TcpCounters after = TcpCounters.of(client);
            long migrations = plan.latencyMoves() + rate.migrations + bulk.migrations;
            m.put("migrations", migrations);
            m.put("client_retransmits", after.since(before, "RetransSegs"));
            m.put("client_loss_probes", after.since(before, "TCPLossProbes"));
            m.put("client_resets", after.since(before, "EstabResets"));
            m.put("client_kernel", after.describe(before, "RetransSegs", "TCPLossProbes", "TCPFastRetrans", "TCPTimeouts",
                    "TCPDSACKRecv", "EstabResets", "TCPOFOQueue"));
            String[] serverSide = {"TCPRcvQDrop", "TCPOFOQueue", "TCPBacklogDrop", "TCPDSACKOldSent", "OutRsts", "TCPWinProbe"};
            m.put("s1_kernel", TcpCounters.of(cluster.testbed().server(1)).describe(s1Before, serverSide));
            m.put("s2_kernel", TcpCounters.of(cluster.testbed().server(2)).describe(s2Before, serverSide));
            List<String> planes = new ArrayList<>();
            for (LauncherServer s : cluster.servers()) {
                if (s.dataPlane() != null) {
                    planes.add(s.id() + ": " + s.dataPlane().describeCounters());
                }
            }
            for (HoldPlane p : deployment.agentPlanes()) {
                planes.add("agent: " + p.describeCounters());
            }
            m.put("hold_planes", planes);
            m.put("rollbacks", arrivals.rollbacks.size());
            if (!arrivals.rollbacks.isEmpty()) m.put("first_rollback", arrivals.rollbacks.get(0));
            m.put("bytes_verified", arrivals.verifiedBytes.get());
            m.put("verified", arrivals.failure.get() == null);
            if (arrivals.failure.get() != null) m.put("failure", arrivals.failure.get());
            progress.accept(mode + ": " + m);
            return m;
        }
    }

    /**
     * The floor of a migration's latency, between the same servers right after its latency phase: one exchange with
     * the peer's migration agent, timed as a migration is (from the call, through the hand-off to a migration thread,
     * to the reply), alternately s1 to s2 and s2 to s1. A migration needs at least one (XFER to XFERED).
     */
    private static Histogram roundTrips(Cluster cluster, int count) throws Exception {
        Histogram h = new Histogram(60_000_000_000L, 3);
        LauncherServer s1 = cluster.server(1), s2 = cluster.server(2);
        for (int i = 0; i < count; i++) {
            Duration took = (i % 2 == 0 ? s1.roundTrip(s2.id()) : s2.roundTrip(s1.id())).get(10, TimeUnit.SECONDS);
            h.recordValue(took.toNanos());
        }
        return h;
    }

    /**
     * Retransmissions by phase (warm-up counts with latency), so that a loss can be put down to the kind of
     * migration that caused it: the client's retransmissions, fast retransmits, loss probes and DSACKs received
     * (a retransmission the servers had already: no loss), and the servers' out-of-order queueing (a hole); and
     * where segments were lost: the packets every interface of the testbed dropped on transmit, by host and
     * interface (a veth drops on a full ring of its peer: the client's burst, or the proxy's XDP redirect).
     */
    private static final class PhaseCounters {
        private final Host client, s1, s2;
        private final List<Host> hosts;
        private TcpCounters clientAt, s1At, s2At;
        private Map<String, Long> dropsAt;
        private final Map<String, Object> figures = new LinkedHashMap<>();

        PhaseCounters(Cluster cluster) throws Exception {
            client = cluster.client(1);
            s1 = cluster.testbed().server(1);
            s2 = cluster.testbed().server(2);
            hosts = cluster.testbed().hosts();
            clientAt = TcpCounters.of(client);
            s1At = TcpCounters.of(s1);
            s2At = TcpCounters.of(s2);
            dropsAt = transmitDrops();
        }

        /** Packets each interface dropped on transmit, by "host interface". */
        private Map<String, Long> transmitDrops() throws Exception {
            Map<String, Long> drops = new LinkedHashMap<>();
            for (Host h : hosts) {
                for (JsonNode link : JSON.readTree(h.exec("ip", "-j", "-s", "link", "show").stdout())) {
                    String host = h.name().substring(h.name().lastIndexOf('-') + 1);
                    drops.put(host + " " + link.path("ifname").asText(), link.path("stats64").path("tx").path("dropped").asLong());
                }
            }
            return drops;
        }

        void end(String phase) throws Exception {
            TcpCounters c = TcpCounters.of(client), a = TcpCounters.of(s1), b = TcpCounters.of(s2);
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("retransmits", c.since(clientAt, "RetransSegs"));
            f.put("fast", c.since(clientAt, "TCPFastRetrans"));
            f.put("probes", c.since(clientAt, "TCPLossProbes"));
            f.put("timeouts", c.since(clientAt, "TCPTimeouts"));
            f.put("dsack_received", c.since(clientAt, "TCPDSACKRecv"));
            f.put("servers_ofo_queue", a.since(s1At, "TCPOFOQueue") + b.since(s2At, "TCPOFOQueue"));
            Map<String, Long> drops = transmitDrops();
            Map<String, Long> dropped = new LinkedHashMap<>();
            drops.forEach((link, n) -> {
                long grew = n - dropsAt.getOrDefault(link, 0L);
                if (grew != 0) dropped.put(link, grew);
            });
            f.put("link_transmit_drops", dropped);
            dropsAt = drops;
            figures.put(phase, f);
            clientAt = c;
            s1At = a;
            s2At = b;
        }

        Map<String, Object> figures() {
            return figures;
        }
    }

    /**
     * The cluster, and in {@link Mode#AGENT} the node agents: per server a {@link RepairAgent} with that server's hold
     * plane, started as the cluster builds the server; closed after the servers, before the testbed goes.
     */
    private static final class Deployment implements AutoCloseable {
        private final List<AutoCloseable> opened = new ArrayList<>();
        private Path directory;
        private final Cluster cluster;

        Deployment(Mode mode, boolean fullNat) throws Exception {
            Cluster.Builder b = Cluster.builder().clients(1).servers(2).warmChannels(WARM_CHANNELS);
            if (fullNat) b.fullNat();
            if (mode == Mode.AGENT) {
                directory = Files.createTempDirectory("sl-bench-agents-");
                b.customize((tb, i, server) -> {
                    NetworkNamespace ns = tb.server(i).namespace();
                    HoldPlane plane = HoldPlane.start(ns, "eth0", "slhold");
                    opened.add(plane);
                    Path socket = directory.resolve("s" + i + ".sock");
                    opened.add(RepairAgent.start(socket, PosixFilePermissions.fromString("rw-------"), ns.threadFactory(), plane));
                    server.repairAgent(socket);
                });
            }
            try {
                cluster = b.build();
            } catch (Exception e) {
                closeAgents();
                throw e;
            }
        }

        Cluster cluster() {
            return cluster;
        }

        List<HoldPlane> agentPlanes() {
            return opened.stream().filter(HoldPlane.class::isInstance).map(HoldPlane.class::cast).toList();
        }

        private void closeAgents() throws Exception {
            for (int i = opened.size() - 1; i >= 0; i--) opened.get(i).close();
            if (directory != null) Files.deleteIfExists(directory);
        }

        @Override
        public void close() throws Exception {
            try {
                for (LauncherServer s : cluster.servers()) s.close();
                closeAgents();
            } finally {
                cluster.close();
            }
        }
    }

    /**
     * Connections arriving at either server, by the port the servers see (the client's, or in full NAT the proxy's);
     * every other arrival (the proxy's health checks) is closed.
     */
    static final class Arrivals implements AutoCloseable {
        private final Map<Integer, BlockingQueue<Connection>> byPort = new ConcurrentHashMap<>();
        private final List<Thread> threads = new ArrayList<>();
        private final Cluster cluster;
        /** Where the servers see clients come from: the client host, or in full NAT the proxy's source address. */
        private final InetAddress seenFrom;
        final AtomicLong verifiedBytes = new AtomicLong();
        /** Migrations that failed and left the connection where it was (a rollback, not a loss). */
        final List<String> rollbacks = new CopyOnWriteArrayList<>();
        final AtomicReference<String> failure = new AtomicReference<>();
        private volatile boolean closed;

        Arrivals(Cluster cluster) {
            this.cluster = cluster;
            this.seenFrom = cluster.seenFrom(cluster.client(1).address());
            for (LauncherServer s : cluster.servers()) {
                threads.add(Thread.ofPlatform().daemon().name("bench-accept-" + s.id()).start(() -> loop(s)));
            }
        }

        private void loop(LauncherServer server) {
            while (!closed) {
                try {
                    Connection c = server.accept(Duration.ofMillis(100));
                    if (c == null) continue;
                    if (!c.client().getAddress().equals(seenFrom)) {
                        c.close();
                        continue;
                    }
                    queue(c.client().getPort()).add(c);
                } catch (Exception e) {
                    if (!closed) failure.compareAndSet(null, "accept on " + server.id() + ": " + e);
                    return;
                }
            }
        }

        BlockingQueue<Connection> queue(int port) {
            return byPort.computeIfAbsent(port, p -> new LinkedBlockingQueue<>());
        }

        /** The port the servers see for the client's connection from {@code clientPort}. */
        int seenPort(int clientPort) throws Exception {
            return cluster.seenAs(new InetSocketAddress(cluster.client(1).address(), clientPort)).getPort();
        }

        Connection take(int port) throws Exception {
            Connection c = queue(port).poll(30, TimeUnit.SECONDS);
            if (c == null) throw new IllegalStateException("connection seen with port " + port + " did not arrive within 30 s");
            return c;
        }

        void fail(String why) {
            failure.compareAndSet(null, why);
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            for (Thread t : threads) t.join(5_000);
        }
    }

    /** One client connection and its server end, wherever that lives; both streams' offsets. */
    static final class Pair implements AutoCloseable {
        final Cluster cluster;
        final Arrivals arrivals;
        final int clientFd, port;
        /** The port the servers see. */
        final int seenPort;
        Connection server;
        /** The last move as the application saw it: from transfer() called until the connection was taken at the peer. */
        long lastMoveNanos;
        long toServer, toClient;

        private Pair(Cluster cluster, Arrivals arrivals, int clientFd, int port, int seenPort, Connection server) {
            this.cluster = cluster;
            this.arrivals = arrivals;
            this.clientFd = clientFd;
            this.port = port;
            this.seenPort = seenPort;
            this.server = server;
        }

        static Pair open(Cluster cluster, Arrivals arrivals) throws Exception {
            Host host = cluster.client(1);
            int fd = host.namespace().call(() -> {
                int s = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                Libc.setsockopt(s, Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
                Libc.connect(s, cluster.service());
                return s;
            });
            int port = Libc.getsockname(fd).getPort();
            int seenPort = arrivals.seenPort(port);
            Connection c = arrivals.take(seenPort);
            Libc.setsockopt(c.fd(), Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
            return new Pair(cluster, arrivals, fd, port, seenPort, c);
        }

        String otherServer() {
            return server.local().getAddress().equals(cluster.testbed().server(1).address()) ? "s2" : "s1";
        }

        LauncherServer serving() {
            return cluster.server(otherServer().equals("s1") ? "s2" : "s1");
        }

        /**
         * Moves the connection to the other server and takes it there; null if the migration was rolled back (the
         * connection goes on here, counted in {@link Arrivals#rollbacks}). Anything else is a failure.
         */
        TransferReport move() throws Exception {
            try {
                TransferReport r = serving().transfer(server, otherServer()).get(60, TimeUnit.SECONDS);
                server = arrivals.take(seenPort);
                return r;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TransferException t) || !t.stayedOnSource()) throw e;
                arrivals.rollbacks.add(t.getMessage());
                return null;
            }
        }

        /** Bytes both ways are sent, not yet read, when the move starts; they are read and checked after it. */
        TransferReport moveWithBytesInFlight() throws Exception {
            NumberedStream.send(clientFd, toServer, PING, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.send(server.fd(), toClient, PING, NumberedStream.SERVER_TO_CLIENT);
            long start = System.nanoTime();
            TransferReport r = move();
            lastMoveNanos = System.nanoTime() - start;
            exchangeChecked();
            return r;
        }

        /** Reads and checks the bytes sent by {@link #moveWithBytesInFlight} or {@link #ping}. */
        void exchangeChecked() throws Exception {
            NumberedStream.expect(server.fd(), toServer, PING, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.expect(clientFd, toClient, PING, NumberedStream.SERVER_TO_CLIENT);
            toServer += PING;
            toClient += PING;
            arrivals.verifiedBytes.addAndGet(2 * PING);
        }

        void ping() throws Exception {
            NumberedStream.send(clientFd, toServer, PING, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.send(server.fd(), toClient, PING, NumberedStream.SERVER_TO_CLIENT);
            exchangeChecked();
        }

        @Override
        public void close() {
            Libc.closeQuietly(clientFd);
            if (server != null) server.close();
        }
    }

    /** Compilation in a second of warm-up below which the JIT counts as quiet (it compiles on these two cores too). */
    private static final long JIT_QUIET_MS = 20;
    private static final long WARMUP_MAX_NANOS = 30_000_000_000L;

    /**
     * Migrations of one connection until at least {@code minimum} are done and a whole second of them passed with the
     * JIT compiler nearly idle (at most 30 s): a latency measured while C2 still compiles the migration's code (a
     * third of both cores for seconds after a cold start) is that of a server nobody runs for long.
     */
    private static Map<String, Object> warmUp(Cluster cluster, Arrivals arrivals, int minimum) throws Exception {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        long start = System.nanoTime(), windowStart = start, windowJit = jit.getTotalCompilationTime();
        int migrations = 0;
        boolean quiet = false;
        try (Pair p = Pair.open(cluster, arrivals)) {
            while (true) {
                p.moveWithBytesInFlight();
                migrations++;
                long now = System.nanoTime();
                if (now - windowStart < 1_000_000_000L) continue;
                long jitNow = jit.getTotalCompilationTime();
                quiet = jitNow - windowJit <= JIT_QUIET_MS;
                if ((quiet && migrations >= minimum) || now - start >= WARMUP_MAX_NANOS) break;
                windowStart = now;
                windowJit = jitNow;
            }
        }
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("migrations", migrations);
        w.put("seconds", round((System.nanoTime() - start) / 1e9));
        w.put("jit_quiet", quiet);
        return w;
    }

    /**
     * {@code slowest}: the migration that took longest, to say in which step a tail was spent; {@code perSecond}: the
     * migrations completed in each second; {@code jitMillis}: the JIT's compile time during the measured window.
     */
    private record Rate(long migrations, long nanos, Histogram latency, TransferReport slowest, List<Long> perSecond, long jitMillis,
                        double warmupSeconds, boolean warmupJitQuiet) {}

    /** The longest the rate phase's own warm-up may take. */
    private static final long RATE_WARMUP_MAX_NANOS = 10_000_000_000L;

    /**
     * Every connection moves again as soon as its previous move completed, until the time is up. Moving many at once
     * runs code the one-connection warm-up did not (the JIT compiled for about a second of a 3 s window in process),
     * so the movers first run unmeasured until a whole second passes with the JIT nearly idle (at most 10 s); only
     * migrations begun after that count.
     */
    private static Rate rate(Cluster cluster, Arrivals arrivals, int connections, long nanos) throws Exception {
        List<Pair> pairs = new ArrayList<>();
        try {
            for (int i = 0; i < connections; i++) pairs.add(Pair.open(cluster, arrivals));
            for (Pair p : pairs) p.ping();
            Histogram latency = new Histogram(60_000_000_000L, 3);
            CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
            TransferReport[] slowest = new TransferReport[1];
            AtomicLong done = new AtomicLong();
            AtomicLong countFrom = new AtomicLong(Long.MAX_VALUE), stopAt = new AtomicLong(Long.MAX_VALUE);
            CountDownLatch finished = new CountDownLatch(connections);
            for (Pair p : pairs) {
                Thread.ofPlatform().daemon().name("bench-mover-" + p.port).start(() -> {
                    try {
                        while (System.nanoTime() < stopAt.get() && arrivals.failure.get() == null) {
                            long began = System.nanoTime();
                            TransferReport r = p.move();
                            if (r == null || began < countFrom.get()) continue;
                            synchronized (latency) {
                                latency.recordValue(r.transferredNanos());
                                if (slowest[0] == null || r.transferredNanos() > slowest[0].transferredNanos()) slowest[0] = r;
                            }
                            done.incrementAndGet();
                        }
                    } catch (Exception e) {
                        arrivals.fail("concurrent migration of port " + p.port + ": " + e);
                    } finally {
                        finished.countDown();
                    }
                });
            }
            long warmupStart = System.nanoTime(), windowJit = jit.getTotalCompilationTime();
            boolean quiet = false;
            while (arrivals.failure.get() == null && !finished.await(1, TimeUnit.SECONDS)) {
                long jitNow = jit.getTotalCompilationTime();
                quiet = jitNow - windowJit <= JIT_QUIET_MS;
                windowJit = jitNow;
                if (quiet || System.nanoTime() - warmupStart >= RATE_WARMUP_MAX_NANOS) break;
            }
            long start = System.nanoTime(), deadline = start + nanos, jitAtStart = jit.getTotalCompilationTime();
            countFrom.set(start);
            stopAt.set(deadline);
            // Migrations completed in each second, and the JIT's compile time meanwhile: how steady the rate was, and
            // how much of the two cores the compiler still took from it.
            List<Long> perSecond = new ArrayList<>();
            long counted = 0;
            for (long second = start + 1_000_000_000L; second <= deadline; second += 1_000_000_000L) {
                boolean over = finished.await(Math.max(0, second - System.nanoTime()), TimeUnit.NANOSECONDS);
                long now = done.get();
                perSecond.add(now - counted);
                counted = now;
                if (over) break;
            }
            long jitMillis = jit.getTotalCompilationTime() - jitAtStart;
            if (!finished.await(120, TimeUnit.SECONDS)) arrivals.fail("concurrent movers did not finish");
            long elapsed = System.nanoTime() - start;
            for (Pair p : pairs) p.ping();
            return new Rate(done.get(), elapsed, latency, slowest[0], perSecond, jitMillis, round((start - warmupStart) / 1e9), quiet);
        } finally {
            for (Pair p : pairs) p.close();
        }
    }

    private static final class Bulk {
        long movedBytes, movedNanos, stillBytes, stillNanos;
        long migrations;
        int warmupRounds;
        boolean warmupSteady;
    }

    /** Two warm-up rounds in a row within this fraction of each other, after at least the minimum: up to speed. */
    private static final double BULK_STEADY = 0.03;
    /** Two rounds alone ended one warm-up at 6.4 and 6.5 Gbit/s, with the stream at 7.3 in the next round. */
    private static final int BULK_WARMUP_MIN_ROUNDS = 3;
    private static final int BULK_WARMUP_MAX_ROUNDS = 10;

    /** One connection streams client -> server flat out; the server end checks every byte and moves it in moved rounds. */
    private static Bulk bulk(Cluster cluster, Arrivals arrivals, Plan plan, Consumer<String> progress, Mode mode) throws Exception {
        Bulk result = new Bulk();
        try (Pair p = Pair.open(cluster, arrivals)) {
            AtomicLong sent = new AtomicLong();
            AtomicReference<Boolean> sending = new AtomicReference<>(true);
            Thread sender = Thread.ofPlatform().daemon().name("bench-bulk-send").start(() -> {
                byte[] chunk = new byte[BULK_CHUNK];
                try {
                    long offset = 0;
                    while (sending.get()) {
                        if ((Libc.poll(p.clientFd, Libc.POLLOUT, 100) & Libc.POLLOUT) == 0) continue;
                        NumberedStream.fill(chunk, chunk.length, offset, NumberedStream.CLIENT_TO_SERVER);
                        int n = Libc.send(p.clientFd, chunk, 0, chunk.length, Libc.MSG_DONTWAIT);
                        if (n > 0) {
                            offset += n;
                            sent.set(offset);
                        }
                    }
                    Libc.shutdown(p.clientFd, Libc.SHUT_WR);
                } catch (Exception e) {
                    arrivals.fail("bulk sender: " + e);
                }
            });
            byte[] buf = new byte[256 * 1024];
            long received = 0;
            // Unmeasured rounds first, until the stream is up to speed: it gains 10-20% over its first two or three seconds
            // (the JIT and the checking loop on both sides), which made the first measured round, always a moved one, the
            // lowest of nearly every run. Then moved and still rounds alternate.
            boolean warming = true, moved = false;
            double previousRate = 0;
            for (int warmups = 0, measured = 0; measured < plan.bulkRounds() && arrivals.failure.get() == null; ) {
                long start = System.nanoTime(), startBytes = received;
                long nextMove = start + 100_000_000L;
                while (System.nanoTime() - start < plan.bulkRoundNanos() && arrivals.failure.get() == null) {
                    if (moved && System.nanoTime() >= nextMove) {
                        if (p.move() != null) result.migrations++;
                        nextMove += 100_000_000L;
                        continue;
                    }
                    int fd = p.server.fd();
                    if ((Libc.poll(fd, Libc.POLLIN, 10) & Libc.POLLIN) == 0) continue;
                    int n = Libc.recv(fd, buf, 0, buf.length, Libc.MSG_DONTWAIT);
                    if (n <= 0) continue;
                    long bad = NumberedStream.firstMismatch(buf, n, received, NumberedStream.CLIENT_TO_SERVER);
                    if (bad >= 0) {
                        arrivals.fail("bulk: client byte " + bad + " differs");
                        break;
                    }
                    received += n;
                }
                long took = System.nanoTime() - start;
                double rate = (received - startBytes) * 8 / (took / 1e3);
                if (warming) {
                    warmups++;
                    progress.accept(mode + ":   bulk warm-up " + warmups + " " + round(rate) + " Mbit/s");
                    result.warmupRounds = warmups;
                    result.warmupSteady = warmups >= BULK_WARMUP_MIN_ROUNDS && Math.abs(rate - previousRate) <= BULK_STEADY * previousRate;
                    previousRate = rate;
                    if (result.warmupSteady || warmups >= BULK_WARMUP_MAX_ROUNDS) {
                        warming = false;
                        moved = true;
                    }
                    continue;
                }
                measured++;
                if (moved) {
                    result.movedBytes += received - startBytes;
                    result.movedNanos += took;
                } else {
                    result.stillBytes += received - startBytes;
                    result.stillNanos += took;
                }
                progress.accept(mode + ":   bulk round " + measured + (moved ? " moved" : " still") + " " + round(rate) + " Mbit/s");
                moved = !moved;
            }
            sending.set(false);
            sender.join(30_000);
            // The rest of the stream, to its end: every byte sent was received and checked.
            int fd = p.server.fd();
            while (true) {
                if (Libc.poll(fd, Libc.POLLIN, 30_000) == 0) {
                    arrivals.fail("bulk: the stream did not end");
                    break;
                }
                int n = Libc.recv(fd, buf, 0, buf.length, Libc.MSG_DONTWAIT);
                if (n == 0) break;
                if (n < 0) continue;
                if (NumberedStream.firstMismatch(buf, n, received, NumberedStream.CLIENT_TO_SERVER) >= 0) {
                    arrivals.fail("bulk: a client byte differs near " + received);
                    break;
                }
                received += n;
            }
            if (received != sent.get()) arrivals.fail("bulk: sent " + sent.get() + " bytes, received " + received);
            arrivals.verifiedBytes.addAndGet(received);
        }
        return result;
    }

    private static Map<String, Object> percentiles(Histogram h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("p50", round(h.getValueAtPercentile(50) / 1e3));
        m.put("p99", round(h.getValueAtPercentile(99) / 1e3));
        m.put("max", round(h.getMaxValue() / 1e3));
        m.put("count", h.getTotalCount());
        return m;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    /** Three decimals: one would read 0.945 as 0.9 against a goal of 0.95. */
    private static double ratio(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
