package io.socketlauncher.bench.proxy;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.Proxy;
import io.socketlauncher.proxy.ProxyConfig;
import io.socketlauncher.proxy.ProxyConfig.BackendConfig;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.proxy.ProxyConfig.ServiceConfig;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Machine;
import io.socketlauncher.testbed.Testbed;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code bench proxy}: the load-balancer host as a plain router, this proxy (XDP and TC hooks), nftables
 * DNAT and HAProxy in TCP mode, side by side in one run on one testbed, for 1, 50 and 200 concurrent
 * connections and 1, 2 and 4 servers.
 *
 * <p>Two routers, both without NAT. {@code router}: the lb spreads flows over the servers by an L4 ECMP
 * route to the VIP, which every server holds on its loopback: the clients address the VIP and each
 * client process's connections land on several servers, as with every balancer; this is the floor the
 * headline compares with. {@code direct}: each client process addresses one server itself. On the
 * shared 2-core testbed that pairing alone (client process and server talking only to each other) is
 * 10-15% faster with 2-4 servers than any spreading, so it is reported beside, not used as the floor.
 *
 * <p>Figures: redis-benchmark PING requests per second; the PING round trip's p50/p99 as redis-benchmark
 * measures it (the echo latency); iperf3 throughput with one server (iperf3's data streams must reach the
 * server of its control connection, which a balancer over several servers does not ensure). Ratios are
 * oriented so that above 1 is better for the proxy: rps and throughput proxy/router, latency router/proxy.
 */
public final class ProxyBenchmark {
    static final int[] CLIENTS = {1, 50, 200};
    static final int[] SERVERS = {1, 2, 4};
    static final int PORT = 6379, IPERF_PORT = 5201;
    /**
     * Every process of the benchmark (clients, servers, HAProxy) runs at nice -10: on a 2-core machine shared
     * with builds and test suites, their CPU share (and the softirq work done in their context) would
     * otherwise swing by 2x from one cell to the next, far more than the differences being measured.
     */
    private static final String NICE = "nice", PRIORITY = "-10";

    enum Setup { ROUTER, DIRECT, PROXY_XDP, PROXY_TC, NFTABLES, HAPROXY }

    /** {@code busiest}: the busiest server's share of the requests (1/servers when even; 1 with one server). */
    record Cell(Setup setup, int clients, int servers, double rps, double p50Millis, double p99Millis, double busiest) {}

    record Throughput(Setup setup, int streams, double gbitPerSecond) {}

    private final boolean quick;
    private final Testbed tb;
    private final List<Cell> cells = new ArrayList<>();
    /** Every round's sample per setup and cell, in round order: ratios are taken within a round. */
    private final Map<String, List<Cell>> redisSamples = new LinkedHashMap<>();
    private final Map<String, List<Throughput>> iperfSamples = new LinkedHashMap<>();
    private final List<Throughput> throughputs = new ArrayList<>();
    private final List<Failure> failures = new ArrayList<>();

    private final String loadAtStart = Machine.loadAverage();

    private ProxyBenchmark(boolean quick, Testbed tb) {
        this.quick = quick;
        this.tb = tb;
    }

    /** Runs the whole matrix and returns the JSON document. */
    public static ObjectNode run(boolean quick) throws Exception {
        try (Testbed tb = Testbed.builder().clients(1).servers(4).build()) {
            ProxyBenchmark b = new ProxyBenchmark(quick, tb);
            b.startServers();
            b.measureAll();
            return b.report();
        }
    }

    private void startServers() throws Exception {
        for (Host s : tb.servers()) {
            s.start(NICE, "-n", PRIORITY, "redis-server", "--port", Integer.toString(PORT), "--save", "", "--appendonly", "no", "--protected-mode", "no",
                    "--maxclients", "10000");
            s.start(NICE, "-n", PRIORITY, "iperf3", "-s", "-p", Integer.toString(IPERF_PORT));
        }
        for (Host s : tb.servers()) {
            awaitListening(s, PORT);
            awaitListening(s, IPERF_PORT);
        }
    }

    /**
     * {@link #rounds} rounds; each round measures every server count with every setup, in an order that
     * is rotated and reversed from round to round, so a drift of the shared machine hits all setups
     * alike. Each figure is the median over the rounds.
     */
    private void measureAll() throws Exception {
        Setup[] setups = Setup.values();
        for (int round = 0; round < rounds(); round++) {
            for (int servers : SERVERS) {
                List<Setup> order = new ArrayList<>();
                for (int i = 0; i < setups.length; i++) order.add(setups[(i + round) % setups.length]);
                if (round % 2 == 1) Collections.reverse(order);
                for (Setup setup : order) {
                    try (AutoCloseable balancer = balance(setup, servers)) {
                        retriedOnce(setup, round, "warm-up, " + servers + " servers", () -> warmUp(setup, servers));
                        for (int clients : CLIENTS) {
                            Cell c = retriedOnce(setup, round, clients + " connections, " + servers + " servers", () -> redis(setup, clients, servers, requests(clients)));
                            redisSamples.computeIfAbsent(key(setup, clients, servers), k -> new ArrayList<>()).add(c);
                            System.err.printf("bench proxy: round %d %-9s %3d connections %d servers: %8.0f rps, p50 %.3f ms, p99 %.3f ms, busiest server %.2f%n",
                                    round + 1, name(setup), clients, servers, c.rps(), c.p50Millis(), c.p99Millis(), c.busiest());
                        }
                        if (servers == 1) {
                            for (int clients : CLIENTS) {
                                int streams = Math.min(clients, 128);
                                Throughput t = retriedOnce(setup, round, "iperf3, " + streams + " streams", () -> iperf(setup, streams));
                                iperfSamples.computeIfAbsent(key(setup, t.streams(), 0), k -> new ArrayList<>()).add(t);
                                System.err.printf("bench proxy: round %d %-9s iperf3 %3d streams: %.2f Gbit/s%n",
                                        round + 1, name(setup), t.streams(), t.gbitPerSecond());
                            }
                        }
                    }
                }
            }
        }
        for (List<Cell> samples : redisSamples.values()) {
            Cell first = samples.getFirst();
            cells.add(new Cell(first.setup(), first.clients(), first.servers(), median(samples.stream().mapToDouble(Cell::rps).toArray()),
                    median(samples.stream().mapToDouble(Cell::p50Millis).toArray()), median(samples.stream().mapToDouble(Cell::p99Millis).toArray()),
                median(samples.stream().mapToDouble(Cell::busiest).toArray())));
        }
        for (List<Throughput> samples : iperfSamples.values()) {
            Throughput first = samples.getFirst();
            throughputs.add(new Throughput(first.setup(), first.streams(), median(samples.stream().mapToDouble(Throughput::gbitPerSecond).toArray())));
        }
    }

    /** A client run that failed, and what it said. */
    record Failure(Setup setup, int round, String cell, String error) {}

    /**
     * A client run that fails (redis-benchmark or iperf3 reset now and then on this testbed, through nftables as
     * through this proxy) is recorded and run once more, so that one glitch does not end a run of many minutes; a
     * second failure in a row ends it.
     */
    private <T> T retriedOnce(Setup setup, int round, String cell, Callable<T> measurement) throws Exception {
        try {
            return measurement.call();
        } catch (IOException e) {
            failures.add(new Failure(setup, round + 1, cell, e.getMessage()));
            System.err.printf("bench proxy: round %d %s %s FAILED (%s); once more%n", round + 1, name(setup), cell, e.getMessage());
            return measurement.call();
        }
    }

    /** Rounds are what steadies a median on a shared machine, so quick runs shorter cells, not fewer rounds. */
    private int rounds() {
        return quick ? 7 : 9;
    }

    private int requests(int clients) {
        return (quick ? 10_000 : 50_000) * Math.max(1, Math.min(clients, 4));
    }

    /**
     * A short untimed load through the setup just put in place, with the most connections: neighbours,
     * flow tables, HAProxy's threads and the servers' accept paths are warm before anything is timed.
     */
    private Cell warmUp(Setup setup, int servers) throws Exception {
        return redis(setup, 200, servers, 4_000);
    }

    private static String key(Setup setup, int clientsOrStreams, int servers) {
        return setup + "/" + clientsOrStreams + "/" + servers;
    }

    private static String name(Setup setup) {
        return setup.name().toLowerCase();
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** Puts a balancer (or the ECMP route) for {@code servers} servers in front of the VIP; DIRECT needs none. */
    private AutoCloseable balance(Setup setup, int servers) throws Exception {
        Host lb = tb.lb();
        String vip = tb.serviceAddress().getHostAddress();
        return switch (setup) {
            case DIRECT -> () -> {};
            case ROUTER -> {
                // Per-flow (L4 hash) multipath: each connection sticks to one server, as with a balancer.
                String policy = lb.exec("sysctl", "-n", "net.ipv4.fib_multipath_hash_policy").stdout().trim();
                lb.exec("sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=1");
                List<String> route = new ArrayList<>(List.of("ip", "route", "add", vip + "/32"));
                for (int i = 1; i <= servers; i++) {
                    Host s = tb.server(i);
                    s.exec("ip", "addr", "add", vip + "/32", "dev", "lo");
                    route.addAll(List.of("nexthop", "via", s.address().getHostAddress(), "dev", s.lbSideInterface()));
                }
                lb.exec(route.toArray(String[]::new));
                yield () -> {
                    lb.exec("ip", "route", "del", vip + "/32");
                    for (int i = 1; i <= servers; i++) tb.server(i).exec("ip", "addr", "del", vip + "/32", "dev", "lo");
                    lb.exec("sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=" + policy);
                };
            }
            case PROXY_XDP, PROXY_TC -> {
                List<String> interfaces = new ArrayList<>();
                for (Host h : tb.clients()) interfaces.add(h.lbSideInterface());
                for (Host h : tb.servers()) interfaces.add(h.lbSideInterface());
                List<ServiceConfig> services = new ArrayList<>();
                for (int port : new int[] {PORT, IPERF_PORT}) {
                    List<BackendConfig> backends = new ArrayList<>();
                    for (int i = 1; i <= servers; i++) {
                        backends.add(new BackendConfig("s" + i + "-" + port, new InetSocketAddress(tb.server(i).address(), port), 1));
                    }
                    services.add(new ServiceConfig(new InetSocketAddress(tb.serviceAddress(), port), Mode.NAT, Algorithm.MAGLEV, backends));
                }
                boolean xdp = setup == Setup.PROXY_XDP;
                if (xdp) offloads(false);
                Proxy proxy = Proxy.start(ProxyConfig.of(lb.name(), interfaces, services).withHook(xdp ? Hook.XDP : Hook.TC));
                if (xdp) {
                    for (Host h : tb.clients()) proxy.attachPeerPass(h.namespace(), h.linkToLb());
                    for (Host h : tb.servers()) proxy.attachPeerPass(h.namespace(), h.linkToLb());
                }
                proxy.checkHealthNow();
                yield () -> {
                    proxy.close();
                    if (xdp) offloads(true);
                };
            }
            case NFTABLES -> {
                StringBuilder map = new StringBuilder();
                for (int i = 1; i <= servers; i++) map.append(i > 1 ? ", " : "").append(i - 1).append(" : ").append(tb.server(i).address().getHostAddress());
                String rules = "table ip slbench {\n chain prerouting {\n  type nat hook prerouting priority dstnat;\n"
                        + "  ip daddr " + vip + " tcp dport { " + PORT + ", " + IPERF_PORT + " } dnat to numgen inc mod " + servers + " map { " + map + " }\n }\n}\n";
                Path file = Files.createTempFile("sl-nft", ".conf");
                Files.writeString(file, rules);
                try {
                    lb.exec("nft", "-f", file.toString());
                } finally {
                    Files.delete(file);
                }
                yield () -> lb.exec("nft", "delete", "table", "ip", "slbench");
            }
            case HAPROXY -> {
                lb.exec("ip", "addr", "add", vip + "/32", "dev", "lo");
                // Best practice for a TCP proxy: one thread per core, splicing where it pays, no logging.
                StringBuilder cfg = new StringBuilder("global\n  maxconn 4000\n  nbthread " + Runtime.getRuntime().availableProcessors() + "\n"
                        + "defaults\n  mode tcp\n  option splice-auto\n  timeout connect 5s\n"
                        + "  timeout client 60s\n  timeout server 60s\n  maxconn 4000\n");
                for (int port : new int[] {PORT, IPERF_PORT}) {
                    cfg.append("listen p").append(port).append("\n  bind ").append(vip).append(':').append(port).append("\n  balance roundrobin\n");
                    for (int i = 1; i <= servers; i++) {
                        cfg.append("  server s").append(i).append(' ').append(tb.server(i).address().getHostAddress()).append(':').append(port).append('\n');
                    }
                }
                Path file = Files.createTempFile("sl-haproxy", ".cfg");
                Files.writeString(file, cfg);
                Process haproxy = lb.start(NICE, "-n", PRIORITY, "haproxy", "-db", "-f", file.toString());
                try {
                    awaitListening(lb, PORT);
                } catch (Exception e) {
                    haproxy.destroyForcibly();
                    throw e;
                } finally {
                    Files.deleteIfExists(file); // read once HAProxy listens; gone even if it never does
                }
                yield () -> {
                    haproxy.destroy();
                    haproxy.waitFor(5, TimeUnit.SECONDS);
                    lb.exec("ip", "addr", "del", vip + "/32", "dev", "lo");
                };
            }
        };
    }

    /** Checksum offload off: frames XDP redirects between veths must carry full checksums. */
    private void offloads(boolean on) throws IOException {
        for (Host h : tb.clients()) h.exec("ethtool", "-K", h.linkToLb(), "tx", on ? "on" : "off");
        for (Host h : tb.servers()) h.exec("ethtool", "-K", h.linkToLb(), "tx", on ? "on" : "off");
    }

    /**
     * redis-benchmark PING with {@code clients} connections, split over one benchmark process per server.
     * Direct, process i addresses server i; everywhere else all processes address the VIP, so every
     * setup runs the same client work.
     */
    private Cell redis(Setup setup, int clients, int servers, int totalRequests) throws Exception {
        int processes = Math.min(clients, servers);
        int requests = totalRequests / processes;
        List<Process> running = new ArrayList<>();
        long[] before = commandsServed(servers);
        Host client = tb.client(1);
        for (int p = 0; p < processes; p++) {
            String target = setup == Setup.DIRECT ? tb.server(p + 1).address().getHostAddress() : tb.serviceAddress().getHostAddress();
            int connections = clients / processes + (p < clients % processes ? 1 : 0);
            running.add(client.startWithOutput(NICE, "-n", PRIORITY, "redis-benchmark", "-h", target, "-p", Integer.toString(PORT), "-c", Integer.toString(connections),
                    "-n", Integer.toString(requests), "-t", "ping_mbulk", "--csv"));
        }
        double rps = 0, p50 = 0, p99 = 0;
        try {
            for (Process p : running) {
                String out = new String(p.getInputStream().readAllBytes());
                if (p.waitFor() != 0) throw new IOException("redis-benchmark failed (" + setup + "): " + new String(p.getErrorStream().readAllBytes()).strip());
                String[] f = csvLine(out, "PING_MBULK");
                rps += Double.parseDouble(f[1]);
                p50 = Math.max(p50, Double.parseDouble(f[4]));
                p99 = Math.max(p99, Double.parseDouble(f[6]));
            }
        } finally {
            for (Process p : running) p.destroyForcibly(); // after a failure, the others must not run into the next cell
        }
        long[] after = commandsServed(servers);
        long total = 0, most = 0;
        for (int i = 0; i < servers; i++) {
            total += after[i] - before[i];
            most = Math.max(most, after[i] - before[i]);
        }
        return new Cell(setup, clients, servers, rps, p50, p99, total == 0 ? Double.NaN : (double) most / total);
    }

    /**
     * Each server's redis-server count of commands served, read outside the timed run: how evenly a setup spread the
     * load, to tell an uneven spread from a slower path.
     */
    private long[] commandsServed(int servers) throws IOException {
        long[] served = new long[servers];
        for (int i = 0; i < servers; i++) {
            Host server = tb.server(i + 1);
            String info = server.exec("redis-cli", "-p", Integer.toString(PORT), "info", "stats").stdout();
            served[i] = info.lines().filter(l -> l.startsWith("total_commands_processed:")).mapToLong(l -> Long.parseLong(l.substring(l.indexOf(':') + 1).trim()))
                    .findFirst().orElseThrow(() -> new IOException("no total_commands_processed in redis-server's INFO on " + server.name()));
        }
        return served;
    }

    private static String[] csvLine(String out, String test) throws IOException {
        for (String line : out.split("\r?\n")) {
            if (line.startsWith("\"" + test + "\"")) return line.replace("\"", "").split(",");
        }
        throw new IOException("no " + test + " line in redis-benchmark's output: " + out);
    }

    private Throughput iperf(Setup setup, int streams) throws Exception {
        String target = setup == Setup.DIRECT ? tb.server(1).address().getHostAddress() : tb.serviceAddress().getHostAddress();
        String json = tb.client(1).exec(NICE, "-n", PRIORITY, "iperf3", "-c", target, "-p", Integer.toString(IPERF_PORT), "-t", quick ? "1" : "3", "-O", "1",
                "-P", Integer.toString(streams), "-J").stdout();
        var root = JsonMapper.builder().build().readTree(json);
        double bps = root.path("end").path("sum_received").path("bits_per_second").asDouble(Double.NaN);
        if (Double.isNaN(bps)) throw new IOException("iperf3 (" + setup + ") gave no result: " + root.path("error").asText(json));
        return new Throughput(setup, streams, bps / 1e9);
    }

    private ObjectNode report() {
        JsonMapper json = JsonMapper.builder().build();
        ObjectNode root = json.createObjectNode();
        root.put("benchmark", "proxy");
        root.put("quick", quick);
        root.put("rounds", rounds());
        root.put("load_average_at_start", loadAtStart);
        root.put("load_average_at_end", Machine.loadAverage());
        root.putPOJO("machine", Machine.facts());
        root.put("note", "benchmark processes at nice -10; figures: medians over the rounds; headline ratios: medians over the rounds of each round's ratio; "
                + "iperf3 omits its first second (slow start); latency is redis-benchmark's PING round trip; router: ECMP over the servers, "
                + "direct: each client process addresses one server; ratios are oriented so that "
                + "above 1 favours the proxy (rps and Gbit/s proxy/router, latency router/proxy)");
        ArrayNode rows = root.putArray("redis");
        for (Cell c : cells) {
            rows.addObject().put("setup", c.setup().name().toLowerCase()).put("clients", c.clients()).put("servers", c.servers())
                    .put("rps", Math.round(c.rps())).put("p50_ms", c.p50Millis()).put("p99_ms", c.p99Millis())
                    .put("busiest_server_share", round(c.busiest()));
        }
        ArrayNode failed = root.putArray("client_failures");
        for (Failure f : failures) {
            failed.addObject().put("setup", name(f.setup())).put("round", f.round()).put("cell", f.cell()).put("error", f.error());
        }
        ArrayNode tput = root.putArray("iperf3");
        for (Throughput t : throughputs) tput.addObject().put("setup", t.setup().name().toLowerCase()).put("streams", t.streams()).put("gbit_per_s", t.gbitPerSecond());

        ObjectNode headline = root.putObject("headline");
        headline.put("router", "the lb as a plain router spreading flows over the servers by an L4 ECMP route (no NAT)");
        for (Setup proxy : new Setup[] {Setup.PROXY_XDP, Setup.PROXY_TC}) {
            String suffix = proxy == Setup.PROXY_XDP ? "_xdp" : "_tc";
            Worst router = worst(proxy, Setup.ROUTER), direct = worst(proxy, Setup.DIRECT);
            headline.put("min_ratio_vs_router" + suffix, round(router.ratio()));
            headline.put("min_ratio_vs_router" + suffix + "_at", router.where());
            headline.put("min_ratio_vs_direct" + suffix, round(direct.ratio()));
            headline.put("min_ratio_vs_direct" + suffix + "_at", direct.where());
            headline.put("rps_ratio_vs_haproxy_200" + suffix, round(roundRatio(key(proxy, 200, 4), key(Setup.HAPROXY, 200, 4), Cell::rps, false)));
        }
        // One hook for the whole matrix, never the better one per cell: the hook whose worst figure is best.
        String hook = headline.get("min_ratio_vs_router_xdp").asDouble() >= headline.get("min_ratio_vs_router_tc").asDouble() ? "xdp" : "tc";
        headline.put("proxy_hook", hook);
        headline.put("min_ratio_vs_router", headline.get("min_ratio_vs_router_" + hook).asDouble());
        headline.put("min_ratio_vs_router_at", headline.get("min_ratio_vs_router_" + hook + "_at").asText());
        headline.put("min_ratio_vs_direct", headline.get("min_ratio_vs_direct_" + hook).asDouble());
        headline.put("min_ratio_vs_direct_at", headline.get("min_ratio_vs_direct_" + hook + "_at").asText());
        headline.put("rps_ratio_vs_haproxy_200", headline.get("rps_ratio_vs_haproxy_200_" + hook).asDouble());
        headline.put("rps_ratio_vs_haproxy_200_cell", "200 connections, 4 servers");
        // The floor itself against HAProxy: no balancer that is only as fast as the router can beat this ratio.
        headline.put("router_rps_ratio_vs_haproxy_200", round(roundRatio(key(Setup.ROUTER, 200, 4), key(Setup.HAPROXY, 200, 4), Cell::rps, false)));
        return root;
    }

    record Worst(double ratio, String where) {}

    /**
     * The proxy's lowest figure divided by the baseline's, over rps, p50, p99 and iperf3, and where it is.
     * Each ratio is the median over the rounds of that round's ratio: both sides of a ratio were measured
     * minutes apart at most, so a load that comes and goes cancels out better than in a ratio of medians.
     */
    private Worst worst(Setup proxy, Setup baseline) {
        double min = Double.MAX_VALUE;
        String where = "";
        for (int servers : SERVERS) {
            for (int clients : CLIENTS) {
                String p = key(proxy, clients, servers), b = key(baseline, clients, servers);
                Map<String, Double> ratios = new LinkedHashMap<>();
                ratios.put("rps", roundRatio(p, b, Cell::rps, false));
                ratios.put("p50", roundRatio(p, b, Cell::p50Millis, true));
                ratios.put("p99", roundRatio(p, b, Cell::p99Millis, true));
                for (var e : ratios.entrySet()) {
                    if (e.getValue() < min) {
                        min = e.getValue();
                        where = e.getKey() + " at " + clients + " clients, " + servers + " servers";
                    }
                }
            }
        }
        for (int clients : CLIENTS) {
            int streams = Math.min(clients, 128);
            List<Throughput> p = iperfSamples.get(key(proxy, streams, 0)), b = iperfSamples.get(key(baseline, streams, 0));
            double[] r = new double[p.size()];
            for (int i = 0; i < r.length; i++) r[i] = p.get(i).gbitPerSecond() / b.get(i).gbitPerSecond();
            double ratio = median(r);
            if (ratio < min) {
                min = ratio;
                where = "iperf3 with " + streams + " streams";
            }
        }
        return new Worst(min, where);
    }

    /** Median over the rounds of proxy/baseline (or baseline/proxy for latencies, so above 1 favours the proxy). */
    private double roundRatio(String proxyKey, String baselineKey, java.util.function.ToDoubleFunction<Cell> figure, boolean lowerIsBetter) {
        List<Cell> p = redisSamples.get(proxyKey), b = redisSamples.get(baselineKey);
        double[] r = new double[p.size()];
        for (int i = 0; i < r.length; i++) {
            double pv = figure.applyAsDouble(p.get(i)), bv = figure.applyAsDouble(b.get(i));
            r[i] = lowerIsBetter ? bv / pv : pv / bv;
        }
        return median(r);
    }

    private Cell find(Setup setup, int clients, int servers) {
        return cells.stream().filter(c -> c.setup() == setup && c.clients() == clients && c.servers() == servers).findFirst().orElseThrow();
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static void awaitListening(Host h, int port) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (h.execAllowingFailure("sh", "-c", "ss -Hltn 'sport = :" + port + "' | grep -q LISTEN").exitCode() == 0) return;
            Thread.sleep(50);
        }
        throw new IOException("nothing listens on port " + port + " in " + h.name());
    }
}
