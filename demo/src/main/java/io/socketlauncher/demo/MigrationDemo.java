package io.socketlauncher.demo;

import io.socketlauncher.cluster.Cluster;
import io.socketlauncher.demo.resp.Keyspace;
import io.socketlauncher.demo.resp.MigrationStats;
import io.socketlauncher.demo.resp.MovePolicy;
import io.socketlauncher.demo.resp.RespServer;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.policy.LeastLoaded;
import io.socketlauncher.server.policy.LogisticThreshold;
import io.socketlauncher.server.policy.ProxyLoads;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Machine;
import io.socketlauncher.testbed.TcpCounters;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToLongFunction;
import org.HdrHistogram.Histogram;

/**
 * The demo {@code make demo} runs: the product on the testbed (the eBPF proxy on lb serving the VIP, servers s1 and
 * s2 running a RESP server built on the library), redis-benchmark on c1 and checked numbered streams on c2, all
 * through the VIP, while every connection keeps moving between s1 and s2: a RESP connection after every few
 * requests, a stream every few tens of milliseconds. Progress once a second, a closing table at the end; it passes
 * only with zero client resets, zero redis-benchmark errors, every stream byte checked both ways and no
 * connection lost.
 */
public final class MigrationDemo {
    /**
     * @param duration how long redis-benchmark runs (in rounds; the streams run as long)
     * @param benchmarkConnections redis-benchmark's -c
     * @param pipeline redis-benchmark's -P for every other round (1: never pipelined)
     * @param moveEveryRequests a RESP connection moves after this many requests (unless {@code logistic} is given)
     * @param logistic if given, RESP connections move by the seed's logistic threshold rule on each server's load
     *                 instead, to the least-loaded peer by the proxy's flow counts
     * @param streams numbered-stream connections on c2
     * @param streamBytesPerSecond each stream's pace, each way
     * @param streamMoveEvery how often a stream connection moves
     * @param fullNat the proxy serves the VIP in full NAT with one source address (else in NAT mode)
     */
    public record Settings(Duration duration, int benchmarkConnections, int pipeline, int moveEveryRequests,
                           LogisticThreshold logistic, int streams, long streamBytesPerSecond, Duration streamMoveEvery,
                           boolean fullNat) {
        public Settings {
            if (duration.isNegative() || duration.isZero()) throw new IllegalArgumentException("duration must be positive");
            if (benchmarkConnections < 1) throw new IllegalArgumentException("redis-benchmark needs at least one connection");
            if (pipeline < 1) throw new IllegalArgumentException("pipeline must be >= 1");
            if (moveEveryRequests < 1) throw new IllegalArgumentException("moveEveryRequests must be >= 1");
            if (streams < 0) throw new IllegalArgumentException("streams must be >= 0");
        }

        public static Settings defaults() {
            return new Settings(Duration.ofSeconds(30), 50, 16, 10, null, 4, 1_000_000, Duration.ofMillis(50), false);
        }
    }

    /** The figures of a run and its verdict. */
    public record Report(long migrations, double seconds, long rollbacks, long lost, long serverConnectionErrors, long requests,
                         long benchmarkRequests, Map<String, double[]> benchmarkRps, List<String> benchmarkErrors,
                         int benchmarkRounds, long bytesChecked, long clientResets, long clientRetransmissions,
                         long clientLossProbes, long clientTimeouts, long clientFastRetransmits, long p50Micros, long p99Micros, long maxMicros, long warmP99Micros, long warmMaxMicros,
                         List<String> failures, List<String> rollbackReasons, String loadAverage) {
        public boolean passed() {
            return failures.isEmpty() && benchmarkErrors.isEmpty() && clientResets == 0 && lost == 0 && migrations > 0;
        }

        public void printTable(PrintStream out) {
            out.println();
            out.println("+------------------------------------------+--------------------------------+");
            row(out, "connections migrated", String.format("%,d", migrations));
            row(out, "migrations per second", String.format("%,.0f", migrations / seconds));
            row(out, "migrations rolled back / lost", rollbacks + " / " + lost);
            row(out, "migration latency p50 / p99 / max (us)", String.format("%,d / %,d / %,d", p50Micros, p99Micros, maxMicros));
            row(out, "  after the first second: p99 / max (us)", String.format("%,d / %,d", warmP99Micros, warmMaxMicros));
            row(out, "RESP requests served", String.format("%,d", requests));
            row(out, "server-side connection I/O errors", Long.toString(serverConnectionErrors));
            row(out, "redis-benchmark requests (" + benchmarkRounds + " runs)", String.format("%,d", benchmarkRequests));
            row(out, "redis-benchmark errors", Integer.toString(benchmarkErrors.size()));
            for (Map.Entry<String, double[]> e : benchmarkRps.entrySet()) {
                double[] rps = e.getValue();
                row(out, "  " + e.getKey() + " requests/s" + (rps[1] > 0 ? " (plain / -P)" : ""),
                        rps[1] > 0 ? String.format("%,.0f / %,.0f", rps[0], rps[1]) : String.format("%,.0f", rps[0]));
            }
            row(out, "stream bytes checked (both ways)", String.format("%,d", bytesChecked));
            row(out, "client resets", Long.toString(clientResets));
            row(out, "client retransmissions", Long.toString(clientRetransmissions));
            // A loss probe resends the last segment after a quiet spell (a long hold); a timeout or a fast retransmit
            // follows a loss or reordering.
            row(out, "  probes / timeouts / fast retransmits", clientLossProbes + " / " + clientTimeouts + " / " + clientFastRetransmits);
            row(out, "load average (1 / 5 / 15 min)", loadAverage);
            out.println("+------------------------------------------+--------------------------------+");
            for (String e : benchmarkErrors.subList(0, Math.min(5, benchmarkErrors.size()))) out.println("redis-benchmark: " + e);
            for (String f : failures.subList(0, Math.min(10, failures.size()))) out.println("failure: " + f);
            for (String r : rollbackReasons) out.println("rolled back (the connection stayed): " + r);
            if (passed()) {
                out.println("PASS: every connection kept its conversation across " + String.format("%,d", migrations)
                        + " migrations; no reset, no error, every stream byte checked");
            } else {
                List<String> why = new ArrayList<>();
                if (migrations == 0) why.add("no connection migrated");
                if (clientResets > 0) why.add(clientResets + " client resets");
                if (!benchmarkErrors.isEmpty()) why.add(benchmarkErrors.size() + " redis-benchmark errors");
                if (lost > 0) why.add(lost + " connections lost in a migration");
                if (!failures.isEmpty()) why.add(failures.size() + " failures (first: " + failures.get(0) + ")");
                out.println("FAIL: " + String.join("; ", why));
            }
        }

        private static void row(PrintStream out, String name, String value) {
            out.printf("| %-40s | %30s |%n", name, value);
        }
    }

    private final Settings settings;
    private final PrintStream progress;

    public MigrationDemo(Settings settings, PrintStream progress) {
        this.settings = settings;
        this.progress = progress;
    }

    public Report run() throws Exception {
        progress.println("starting the cluster: c1, c2, the eBPF proxy on lb (VIP in " + (settings.fullNat() ? "full NAT" : "NAT mode")
                + "), s1 and s2 ...");
        // Every connection may be moving at the same moment: the servers open that many channels before the first.
        int concurrent = settings.benchmarkConnections() + settings.streams();
        Cluster.Builder builder = Cluster.builder().clients(2).servers(2).warmChannels(concurrent);
        if (settings.fullNat()) builder.fullNat();
        try (Cluster cluster = builder.build()) {
            return run(cluster);
        }
    }

    /** Runs on a cluster of two servers and two client hosts that nobody else uses. */
    public Report run(Cluster cluster) throws Exception {
        Keyspace keyspace = new Keyspace();
        MigrationStats stats = new MigrationStats();
        List<RespServer> servers = new ArrayList<>();
        List<ProxyLoads> loads = new ArrayList<>();
        List<StreamClient> streams = new ArrayList<>();
        // Where the servers see each stream come from: its own address, or in full NAT the proxy's and a proxy port.
        Map<StreamClient, InetSocketAddress> seenAs = new LinkedHashMap<>();
        Host c1 = cluster.client(1), c2 = cluster.client(2);
        List<String> failures = new ArrayList<>();
        try {
            MovePolicy policy = null;
            for (int i = 1; i <= 2; i++) {
                LauncherServer server = cluster.server(i);
                if (settings.logistic() != null) {
                    ProxyLoads proxyLoads = new ProxyLoads(server);
                    loads.add(proxyLoads);
                    policy = MovePolicy.logistic(settings.logistic(), new LeastLoaded(proxyLoads, Duration.ofMillis(100)));
                } else {
                    policy = MovePolicy.everyRequests(settings.moveEveryRequests());
                }
                servers.add(new RespServer(server, keyspace, new RespServer.Settings(policy, settings.streamMoveEvery(),
                        settings.streamBytesPerSecond()), stats));
            }
            progress.printf("RESP server on s1 and s2; service %s; RESP connections move by %s%s, streams every %d ms%n",
                    cluster.service(), policy, settings.logistic() != null ? " of requests in service, to the least-loaded peer" : "",
                    settings.streamMoveEvery().toMillis());
            TcpCounters c1Before = TcpCounters.of(c1), c2Before = TcpCounters.of(c2);
            for (int i = 0; i < settings.streams(); i++) {
                StreamClient s = new StreamClient(c2, cluster.service(), settings.streamBytesPerSecond());
                streams.add(s);
                seenAs.put(s, cluster.seenAs(s.local()));
            }
            progress.printf("%d numbered streams from c2 (%,d bytes/s each way each); redis-benchmark from c1: -c %d -t %s%s%n",
                    settings.streams(), settings.streamBytesPerSecond(), settings.benchmarkConnections(), RedisBenchmark.TESTS,
                    settings.pipeline() > 1 ? ", every other run with -P " + settings.pipeline() : "");

            long started = System.nanoTime();
            long deadline = started + settings.duration().toNanos();
            AtomicReference<RedisBenchmark> current = new AtomicReference<>();
            int[] round = {0};
            Thread ticker = Thread.ofPlatform().daemon().name("demo-progress").start(() -> tick(stats, streams, servers, current, round, started));
            List<String> benchmarkErrors = new ArrayList<>();
            Map<String, double[]> lastRps = new LinkedHashMap<>();
            long benchmarkRequests = 0;
            // Requests per second of the last run without and with pipelining: the next run of each kind is sized
            // from it to end near the deadline (each run pays for its connections and start).
            double[] pace = {0, 0};
            try {
                while (true) {
                    long left = deadline - System.nanoTime();
                    if (round[0] > 0 && left < 1_000_000_000L) break;
                    int kind = settings.pipeline() > 1 ? round[0] % 2 : 0;
                    int pipeline = kind == 1 ? settings.pipeline() : 1;
                    double seconds = Math.min(Math.max(left, 0) / 1e9, 10.0);
                    int requestsPerTest = pace[kind] == 0 ? 2_000
                            : (int) Math.max(1_000, Math.min(5_000_000, pace[kind] * seconds / RedisBenchmark.TESTS_RUN));
                    RedisBenchmark benchmark = new RedisBenchmark();
                    current.set(benchmark);
                    round[0]++;
                    RedisBenchmark.Result result = benchmark.run(c1, cluster.service(), settings.benchmarkConnections(),
                            requestsPerTest, pipeline, 300);
                    benchmarkErrors.addAll(result.errors());
                    benchmarkRequests += result.requests();
                    result.rps().forEach((test, rps) -> lastRps.computeIfAbsent(test, t -> new double[2])[kind] = rps);
                    if (!result.ok()) break;
                    pace[kind] = result.requests() / Math.max(0.1, result.seconds());
                }
            } finally {
                current.set(null);
                ticker.interrupt();
                ticker.join(2_000);
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            long bytesChecked = stats.streamBytesChecked();
            for (StreamClient s : streams) {
                s.finish(30_000);
                bytesChecked += s.received();
                if (s.failure() != null) failures.add(s.failure());
                MigrationStats.StreamEnd end = stats.streamEnd(seenAs.get(s));
                if (end == null) failures.add("stream " + s.local().getPort() + ": the server never saw its end");
                else if (end.received() != s.sent() || end.sent() != s.received()) {
                    failures.add(String.format("stream %d: client sent %d and received %d, server received %d and sent %d",
                            s.local().getPort(), s.sent(), s.received(), end.received(), end.sent()));
                }
            }
            TcpCounters c1After = TcpCounters.of(c1), c2After = TcpCounters.of(c2);
            ToLongFunction<String> clients = counter -> c1After.since(c1Before, counter) + c2After.since(c2Before, counter);
            long resets = clients.applyAsLong("EstabResets") + clients.applyAsLong("AttemptFails");
            long retransmissions = clients.applyAsLong("RetransSegs");
            long probes = clients.applyAsLong("TCPLossProbes");
            long timeouts = clients.applyAsLong("TCPTimeouts");
            long fast = clients.applyAsLong("TCPFastRetrans");
            failures.addAll(stats.failures());
            if (stats.protocolErrors() > 0) failures.add(stats.protocolErrors() + " protocol errors at the servers");
            Histogram latency = stats.latencyMicros(), warm = stats.warmLatencyMicros();
            return new Report(stats.migrations(), seconds, stats.rollbacks(), stats.lost(), stats.connectionErrors(), stats.requests(), benchmarkRequests,
                    lastRps, benchmarkErrors, round[0], bytesChecked, resets, retransmissions, probes, timeouts, fast,
                    latency.getValueAtPercentile(50), latency.getValueAtPercentile(99), latency.getMaxValue(),
                    warm.getValueAtPercentile(99), warm.getMaxValue(), failures, stats.rollbackReasons(),
                    Machine.loadAverage().replace(" ", " / "));
        } finally {
            for (StreamClient s : streams) s.close();
            for (RespServer s : servers) s.close();
            for (ProxyLoads l : loads) l.close();
        }
    }

    private void tick(MigrationStats stats, List<StreamClient> streams, List<RespServer> servers,
                      AtomicReference<RedisBenchmark> current, int[] round, long started) {
        long lastMigrations = 0, lastRequests = 0;
        try {
            while (true) {
                Thread.sleep(1_000);
                long migrations = stats.migrations(), requests = stats.requests();
                long checked = stats.streamBytesChecked();
                for (StreamClient s : streams) checked += s.received();
                RedisBenchmark b = current.get();
                String bench = b == null ? "done" : "run " + round[0] + (b.testsDone().isEmpty() ? "" : ", done: " + String.join(" ", b.testsDone()));
                progress.printf("[%3ds] migrations %,d (+%,d/s)  requests %,d (+%,d/s)  stream bytes checked %,d  "
                                + "connections s1 %d s2 %d  redis-benchmark %s%n",
                        (System.nanoTime() - started) / 1_000_000_000L, migrations, migrations - lastMigrations, requests,
                        requests - lastRequests, checked, servers.get(0).connections(), servers.get(1).connections(), bench);
                lastMigrations = migrations;
                lastRequests = requests;
            }
        } catch (InterruptedException e) {
            // the run is over
        }
    }

}
