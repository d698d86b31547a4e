package io.socketlauncher.bench.connect;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.socketlauncher.connect.ConnectBalancer;
import io.socketlauncher.connect.Installation;
import io.socketlauncher.connect.Protocol;
import io.socketlauncher.connect.Scheduler;
import io.socketlauncher.connect.Service;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The seed's table, side by side in one run: redis-benchmark {@code -c 100 -P 1 -t ping} requests per
 * second from a client to one redis-server, directly and through a virtual address translated by
 * iptables DNAT (statistic mode, as in the seed), nftables DNAT, and the cgroup connect hooks; then
 * short-lived connections per second (redis-benchmark {@code -k 0}: one connection per request) for the
 * same four. The NAT ways have their own client namespaces (so their conntrack never burdens the others);
 * direct and hooks share one, the hooks' runs joining the scoped cgroup and the direct ones staying out
 * of it. All go through the same router to the same server; runs are interleaved (A B C D A B C D ...)
 * to cancel drift.
 */
public final class ConnectBenchmark {
    enum Way { DIRECT, IPTABLES, NFTABLES, HOOKS }

    private static final int PORT = 6379;
    private static final Path BPF_STATS = Path.of("/proc/sys/kernel/bpf_stats_enabled");
    private final boolean quick;
    private final PrintStream log;

    public ConnectBenchmark(boolean quick, PrintStream log) {
        this.quick = quick;
        this.log = log;
    }

    public ObjectNode run() throws Exception {
        // Many short interleaved rounds and medians of per-round ratios: on a shared 2-core machine the
        // noise comes in bursts of seconds, which a round of eight short runs mostly sees whole or not at all.
        int rounds = quick ? 5 : 15;
        int requests = quick ? 100_000 : 200_000;
        int connections = quick ? 10_000 : 20_000;
        String prefix = "sl" + ProcessHandle.current().pid();
        Path pinDir = Path.of("/sys/fs/bpf", prefix + "-bench-connect");
        Path cgroup = Path.of("/sys/fs/cgroup/unified", prefix + "-bench-connect");
        Map<Way, List<Double>> rps = new EnumMap<>(Way.class), cps = new EnumMap<>(Way.class);
        ObjectNode hookCost;
        for (Way w : Way.values()) {
            rps.put(w, new ArrayList<>());
            cps.put(w, new ArrayList<>());
        }
        try (Testbed tb = Testbed.builder().clients(3).servers(1).build()) {
            Host server = tb.server(1);
            String vip = tb.serviceAddress().getHostAddress();
            String real = server.address().getHostAddress();
            server.start("taskset", "-c", "0", "redis-server", "--port", String.valueOf(PORT), "--bind", "0.0.0.0",
                    "--save", "", "--appendonly", "no", "--protected-mode", "no");
            waitForRedis(tb.client(1), real);
            for (Host c : tb.clients()) {
                // -k 0 opens a connection per request: without reuse the client's ports run out in TIME_WAIT.
                c.exec("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65535");
            }
            tb.client(2).exec("iptables", "-t", "nat", "-A", "OUTPUT", "-m", "statistic", "--mode", "random", "--probability", "1.0",
                    "-m", "tcp", "-p", "tcp", "-d", vip, "--dport", String.valueOf(PORT), "-j", "DNAT", "--to-destination", real + ":" + PORT);
            tb.client(3).exec("nft", "add table ip sl_bench; add chain ip sl_bench out { type nat hook output priority -100; }; "
                    + "add rule ip sl_bench out ip daddr " + vip + " tcp dport " + PORT + " dnat to " + real + ":" + PORT);
            Files.createDirectories(cgroup);
            String statsBefore = Files.readString(BPF_STATS).strip();
            try (ConnectBalancer vs = ConnectBalancer.openOrInstall(pinDir, cgroup)) {
                // The hooks' own CPU time, a figure the machine's noise barely moves: kernel BPF run-time
                // statistics, on for this run only (they cost every BPF program two clock reads).
                Files.writeString(BPF_STATS, "1");
                Service service = new Service(Protocol.TCP, new InetSocketAddress(tb.serviceAddress(), PORT), tb.client(1).name());
                vs.addService(service, Scheduler.RR);
                vs.addReal(service, new InetSocketAddress(server.address(), PORT), 1);

                Map<Way, Host> client = Map.of(Way.DIRECT, tb.client(1), Way.IPTABLES, tb.client(2), Way.NFTABLES, tb.client(3), Way.HOOKS, tb.client(1));
                for (int round = 1; round <= rounds; round++) {
                    for (Way w : Way.values()) {
                        String target = w == Way.DIRECT ? real : vip;
                        List<String> argv = List.of("taskset", "-c", "1", "redis-benchmark", "-h", target, "-p", String.valueOf(PORT),
                                "-c", "100", "-P", "1", "-t", "ping", "-n", String.valueOf(requests), "--csv");
                        double r = pingInline(runClient(client.get(w), w == Way.HOOKS ? cgroup : null, argv));
                        rps.get(w).add(r);
                        log.printf("round %d %-8s rps %10.0f%n", round, w, r);
                    }
                    for (Way w : Way.values()) {
                        String target = w == Way.DIRECT ? real : vip;
                        List<String> argv = List.of("taskset", "-c", "1", "redis-benchmark", "-h", target, "-p", String.valueOf(PORT),
                                "-c", "50", "-k", "0", "-t", "ping", "-n", String.valueOf(connections), "--csv");
                        double c = pingInline(runClient(client.get(w), w == Way.HOOKS ? cgroup : null, argv));
                        cps.get(w).add(c);
                        log.printf("round %d %-8s cps %10.0f%n", round, w, c);
                    }
                }
                hookCost = hookCost(pinDir, vs.list().getFirst().connections());
            } finally {
                Files.writeString(BPF_STATS, statsBefore);
                Installation.uninstall(pinDir);
                removeCgroup(cgroup);
            }
        }
        ObjectNode out = report(rounds, requests, connections, rps, cps);
        out.set("hook_cost", hookCost);
        double nsPerConnection = hookCost.path("ns_per_connection").asDouble();
        ((ObjectNode) out.get("headline")).put("hook_ns_per_connection", nsPerConnection);
        // The share of one CPU the hooks take at the direct connection rate: their cost, free of noise.
        ((ObjectNode) out.get("headline")).put("hook_cpu_share_at_direct_cps",
                Math.round(nsPerConnection * out.path("cps").path("direct").asDouble() / 1e9 * 10000) / 10000.0);
        return out;
    }

    /** Run time per balanced connection of each hook, from the kernel's BPF statistics. */
    private static ObjectNode hookCost(Path pinDir, long connections) throws IOException, InterruptedException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode out = json.createObjectNode();
        out.put("connections", connections);
        double total = 0;
        for (String program : List.of("vs_connect4", "vs_sock_release")) {
            var link = json.readTree(runTool("bpftool", "-j", "link", "show", "pinned", pinDir.resolve("link_" + program).toString()));
            var prog = json.readTree(runTool("bpftool", "-j", "prog", "show", "id", link.path("prog_id").asText()));
            long runTime = prog.path("run_time_ns").asLong(), runs = prog.path("run_cnt").asLong();
            ObjectNode p = out.putObject(program);
            p.put("runs", runs);
            p.put("ns_per_run", runs == 0 ? 0 : Math.round((double) runTime / runs));
            total += connections == 0 ? 0 : (double) runTime / connections;
        }
        out.put("ns_per_connection", Math.round(total));
        return out;
    }

    private static String runTool(String... argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException(String.join(" ", argv) + " exited " + p.exitValue());
        return out;
    }

    private ObjectNode report(int rounds, int requests, int connections, Map<Way, List<Double>> rps, Map<Way, List<Double>> cps) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode out = json.createObjectNode();
        out.put("benchmark", "connect");
        out.put("quick", quick);
        out.put("rounds", rounds);
        out.put("requests_per_run", requests);
        out.put("connections_per_run", connections);
        out.put("method", "redis-benchmark -c 100 -P 1 -t ping (PING_INLINE rps) and -c 50 -k 0 (one connection per request: "
                + "connections/s); client on CPU 1, redis-server on CPU 0, one client namespace per way, interleaved rounds; "
                + "rps/cps are medians over rounds, headline ratios are medians of the per-round ratios to direct");
        ObjectNode rpsNode = out.putObject("rps"), cpsNode = out.putObject("cps");
        ObjectNode samples = out.putObject("samples");
        for (Way w : Way.values()) {
            String name = w.name().toLowerCase();
            rpsNode.put(name, round(median(rps.get(w))));
            cpsNode.put(name, round(median(cps.get(w))));
            ObjectNode s = samples.putObject(name);
            ArrayNode r = s.putArray("rps"), c = s.putArray("cps");
            rps.get(w).forEach(v -> r.add(round(v)));
            cps.get(w).forEach(v -> c.add(round(v)));
        }
        ObjectNode headline = out.putObject("headline");
        headline.put("rps_ratio_vs_direct", ratio(rps, Way.HOOKS));
        headline.put("cps_ratio_vs_direct", ratio(cps, Way.HOOKS));
        headline.put("rps_ratio_iptables_vs_direct", ratio(rps, Way.IPTABLES));
        headline.put("rps_ratio_nftables_vs_direct", ratio(rps, Way.NFTABLES));
        headline.put("cps_ratio_iptables_vs_direct", ratio(cps, Way.IPTABLES));
        headline.put("cps_ratio_nftables_vs_direct", ratio(cps, Way.NFTABLES));
        ObjectNode seed = out.putObject("seed_rps_ratios_vs_direct");
        seed.put("iptables_dnat", 0.82);
        seed.put("ipvs_nat", 0.89);
        seed.put("ipvs_direct_routing", 0.96);
        return out;
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Median over rounds of way/direct within the round. */
    private static double ratio(Map<Way, List<Double>> figures, Way way) {
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < figures.get(way).size(); i++) ratios.add(figures.get(way).get(i) / figures.get(Way.DIRECT).get(i));
        return Math.round(median(ratios) * 1000) / 1000.0;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    /** Runs in the client's namespace; for the hooks, as a member of the scoped cgroup (joined before exec). */
    private static String runClient(Host client, Path cgroup, List<String> argv) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + client.name()));
        if (cgroup != null) command.addAll(List.of("sh", "-c", "echo $$ > " + cgroup.resolve("cgroup.procs") + " && exec \"$@\"", "sh"));
        command.addAll(argv);
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish");
        }
        if (p.exitValue() != 0) throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ": " + out);
        return out;
    }

    /** {@code "PING_INLINE","115972.19",...} from --csv. */
    static double pingInline(String csv) {
        for (String line : csv.split("\n")) {
            String[] f = line.split(",");
            if (f.length > 1 && f[0].equals("\"PING_INLINE\"")) return Double.parseDouble(f[1].replace("\"", ""));
        }
        throw new IllegalStateException("no PING_INLINE line in redis-benchmark output: " + csv);
    }

    private static void waitForRedis(Host client, String server) throws Exception {
        for (int attempt = 0; attempt < 100; attempt++) {
            if (client.execAllowingFailure("redis-cli", "-h", server, "-p", String.valueOf(PORT), "PING").stdout().contains("PONG")) return;
            Thread.sleep(50);
        }
        throw new IllegalStateException("redis-server did not come up");
    }

    private static void removeCgroup(Path cgroup) throws InterruptedException {
        for (int attempt = 0; attempt < 50 && Files.exists(cgroup); attempt++) {
            try {
                Files.delete(cgroup);
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
    }
}
