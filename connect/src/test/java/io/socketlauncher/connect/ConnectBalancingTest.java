package io.socketlauncher.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Real clients (redis-cli, redis-benchmark, a Python socket client) in a scoped cgroup inside a client
 * namespace, two real servers in their own namespaces, the hooks attached to that cgroup only.
 */
class ConnectBalancingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ConnectTestNet net;
    private ConnectBalancer vs;
    private Service tcp;

    @BeforeAll
    static void setUpNetwork() throws Exception {
        net = new ConnectTestNet();
    }

    @AfterAll
    static void tearDownNetwork() throws Exception {
        if (net != null) net.close();
    }

    @BeforeEach
    void install() throws IOException {
        vs = ConnectBalancer.openOrInstall(net.pinDir, net.cgroup);
        vs.clear();
        tcp = new Service(Protocol.TCP, ConnectTestNet.VIP, net.client);
    }

    @AfterEach
    void closeMaps() {
        vs.close();
    }

    private JsonNode runJson(List<String> command) throws IOException {
        String out = Shell.run(command);
        return JSON.readTree(out.lines().reduce((a, b) -> b).orElseThrow());
    }

    private JsonNode spread(int connects, InetSocketAddress vip) throws IOException {
        return runJson(net.inScope(net.client("spread", String.valueOf(connects), vip.getAddress().getHostAddress(), String.valueOf(vip.getPort()))));
    }

    private static int count(JsonNode result, String server) {
        return result.path("counts").path(server).asInt(0);
    }

    @Test
    void weightedRoundRobinFollowsWeightsAndGetpeernameShowsTheVirtualAddress() throws Exception {
        vs.addService(tcp, Scheduler.WRR);
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 3);
        vs.addReal(tcp, net.real(2, ConnectTestNet.REDIS_PORT), 1);

        JsonNode result = spread(400, ConnectTestNet.VIP);
        // Weights 3:1 over 400 connects: 75% +-5 points for s1 (per-CPU cursors make it nearly exact).
        assertThat(count(result, "s1") + count(result, "s2")).isEqualTo(400);
        assertThat(count(result, "s1")).isBetween(280, 320);
        assertThat(result.path("peers").toString()).isEqualTo("[\"10.77.200.1:6379\"]");

        String who = Shell.run(net.inScope("redis-cli", "-h", "10.77.200.1", "-p", "6379", "GET", "who")).strip();
        assertThat(who).isIn("s1", "s2");

        ServiceStatus status = vs.list().getFirst();
        assertThat(status.service()).isEqualTo(tcp);
        assertThat(status.connections()).isEqualTo(401);
        assertThat(status.activeConnections()).isZero();
        vs.zeroCounters();
        assertThat(vs.list().getFirst().connections()).isZero();
    }

    @Test
    void clientsOutsideTheScopeAreUntouched() throws Exception {
        vs.addService(tcp, Scheduler.RR);
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 1);
        // Same namespace, not in the cgroup: the VIP is routed nowhere, so the connect fails as without us.
        JsonNode outside = runJson(net.outOfScope(net.client("refused", "10.77.200.1", "6379")));
        assertThat(outside.path("errno").asText()).isEqualTo("ENETUNREACH");
        // In the cgroup but in another namespace (server 1's, which has no route to the VIP either): the
        // service belongs to the client namespace only.
        JsonNode otherNetns = runJson(List.of("nsenter", "--net=/var/run/netns/" + net.servers.getFirst(), "sh", "-c",
                "echo $$ > " + net.cgroup.resolve("cgroup.procs") + " && exec \"$@\"", "sh",
                "/usr/bin/python3", net.script.toString(), "refused", "10.77.200.1", "6379"));
        assertThat(otherNetns.path("errno").asText()).isEqualTo("ENETUNREACH");
        assertThat(vs.list().getFirst().connections()).isZero();
    }

    @Test
    void curlOverIpv4AndIpv6WithADifferentRealPort() throws Exception {
        Service web = new Service(Protocol.TCP, new InetSocketAddress(ConnectTestNet.VIP.getAddress(), 80), net.client);
        Service web6 = new Service(Protocol.TCP, new InetSocketAddress(ConnectTestNet.VIP6.getAddress(), 80), net.client);
        vs.addService(web, Scheduler.RR);
        vs.addReal(web, net.real(2, ConnectTestNet.HTTP_PORT), 1);
        vs.addService(web6, Scheduler.RR);
        vs.addReal(web6, net.real6(1, ConnectTestNet.HTTP_PORT), 1);
        assertThat(curl("http://10.77.200.1/who")).isEqualTo("s2");
        assertThat(curl("http://[fd77:0:200::1]/who")).isEqualTo("s1");
    }

    private String curl(String url) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Shell.Result r = Shell.runAllowingFailure(net.inScope("curl", "-sS", "-g", "--max-time", "10", url));
            // http.server may still be starting: the balancer's answer then is ECONNREFUSED from the real.
            if (r.exitCode() == 0 || attempt == 50) return r.stdout();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
    }

    @Test
    void dualStackClientsUsingIpv4MappedAddressesAreBalancedToo() throws Exception {
        vs.addService(tcp, Scheduler.RR);
        vs.addReal(tcp, net.real(2, ConnectTestNet.REDIS_PORT), 1);
        Service udp = new Service(Protocol.UDP, new InetSocketAddress(ConnectTestNet.VIP.getAddress(), 53), net.client);
        vs.addService(udp, Scheduler.RR);
        vs.addReal(udp, net.real(1, ConnectTestNet.UDP_PORT), 1);

        JsonNode tcpResult = runJson(net.inScope(net.client("spread", "5", "::ffff:10.77.200.1", "6379")));
        assertThat(count(tcpResult, "s2")).isEqualTo(5);
        assertThat(tcpResult.path("peers").toString()).isEqualTo("[\"[::ffff:10.77.200.1]:6379\"]");
        JsonNode udpResult = runJson(net.inScope(net.client("udp", "3", "::ffff:10.77.200.1", "53", "unconnected")));
        assertThat(count(udpResult, "s1")).isEqualTo(3);
        assertThat(udpResult.path("sources").toString()).isEqualTo("[\"[::ffff:10.77.200.1]:53\"]");

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String source = Path.of(ConnectBalancingTest.class.getResource("/JavaClient.java").toURI()).toString();
        assertThat(Shell.run(net.inScope(java, source, "10.77.200.1", "6379")).strip()).isEqualTo("s2");
    }

    @Test
    void randomFollowsWeights() throws Exception {
        vs.addService(tcp, Scheduler.RANDOM);
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 3);
        vs.addReal(tcp, net.real(2, ConnectTestNet.REDIS_PORT), 1);
        JsonNode result = spread(2000, ConnectTestNet.VIP);
        // 75% +-5 points: five standard deviations at n=2000.
        assertThat(count(result, "s1")).isBetween(1400, 1600);
        assertThat(count(result, "s2")).isEqualTo(2000 - count(result, "s1"));
    }

    @Test
    void roundRobinIgnoresWeightsButSkipsDrained() throws Exception {
        vs.addService(tcp, Scheduler.RR);
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 5);
        vs.addReal(tcp, net.real(2, ConnectTestNet.REDIS_PORT), 1);
        JsonNode result = spread(200, ConnectTestNet.VIP);
        assertThat(count(result, "s1")).isBetween(90, 110);
        vs.editReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 0);
        assertThat(count(spread(50, ConnectTestNet.VIP), "s2")).isEqualTo(50);
    }

    @Test
    void sourceHashKeepsAClientOnOneReal() throws Exception {
        vs.addService(tcp, Scheduler.SH);
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 1);
        vs.addReal(tcp, net.real(2, ConnectTestNet.REDIS_PORT), 1);
        JsonNode result = spread(100, ConnectTestNet.VIP);
        assertThat(result.path("counts").size()).isEqualTo(1);
        assertThat(spread(20, ConnectTestNet.VIP).path("counts").fieldNames().next())
                .isEqualTo(result.path("counts").fieldNames().next());
    }

    @Test
    void leastConnectionsTracksOpenAndCloseAndDrainKeepsExistingConnections() throws Exception {
        vs.addService(tcp, Scheduler.LC);
        InetSocketAddress s1 = net.real(1, ConnectTestNet.REDIS_PORT), s2 = net.real(2, ConnectTestNet.REDIS_PORT);
        vs.addReal(tcp, s1, 1);
        vs.addReal(tcp, s2, 1);
        Process client = new ProcessBuilder(net.inScope(net.client("hold", "10", "10.77.200.1", "6379")))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
             Writer in = new OutputStreamWriter(client.getOutputStream(), StandardCharsets.UTF_8)) {
            JsonNode first = JSON.readTree(out.readLine());
            assertThat(count(first, "s1")).isEqualTo(5);
            assertThat(count(first, "s2")).isEqualTo(5);
            assertThat(active(s1)).isEqualTo(5);
            assertThat(active(s2)).isEqualTo(5);

            vs.editReal(tcp, s2, 0); // drain
            in.write("\n");
            in.flush();
            JsonNode second = JSON.readTree(out.readLine());
            assertThat(count(second, "s1")).isEqualTo(10);
            assertThat(second.path("first_unchanged").asBoolean()).isTrue();
            assertThat(active(s1)).isEqualTo(15);
            assertThat(active(s2)).isEqualTo(5);

            in.write("\n");
            in.flush();
            assertThat(JSON.readTree(out.readLine()).path("closed").asBoolean()).isTrue();
            assertThat(client.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(active(s1)).isZero();
            assertThat(active(s2)).isZero();
        } finally {
            client.destroyForcibly();
        }
    }

    private long active(InetSocketAddress real) throws IOException {
        return vs.list().getFirst().reals().stream().filter(r -> r.address().equals(real)).findFirst().orElseThrow().activeConnections();
    }

    @Test
    void deletingARealCanCloseItsBalancedConnectionsOnly() throws Exception {
        vs.addService(tcp, Scheduler.RR);
        InetSocketAddress s1 = net.real(1, ConnectTestNet.REDIS_PORT), s2 = net.real(2, ConnectTestNet.REDIS_PORT);
        vs.addReal(tcp, s1, 1);
        vs.addReal(tcp, s2, 1);
        Process balanced = new ProcessBuilder(net.inScope(net.client("hold", "10", "10.77.200.1", "6379")))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        // A connection straight to s2's address, not made through the balancer: it must survive.
        Process direct = new ProcessBuilder(net.outOfScope(net.client("hold", "1", "10.77.102.2", String.valueOf(ConnectTestNet.REDIS_PORT))))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(balanced.getInputStream(), StandardCharsets.UTF_8));
             BufferedReader directOut = new BufferedReader(new InputStreamReader(direct.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(count(JSON.readTree(out.readLine()), "s2")).isEqualTo(5);
            assertThat(count(JSON.readTree(directOut.readLine()), "s2")).isEqualTo(1);
            assertThat(vs.deleteReal(tcp, s2, true)).isEqualTo(5);
            String left = Shell.run(net.outOfScope("ss", "-H", "-t", "-n", "state", "established", "dst", "10.77.102.2/32"));
            assertThat(left.lines().count()).isEqualTo(1);
            String kept = Shell.run(net.outOfScope("ss", "-H", "-t", "-n", "state", "established", "dst", "10.77.101.2/32"));
            assertThat(kept.lines().count()).isEqualTo(5);
            assertThat(vs.list().getFirst().reals()).extracting(RealServer::address).containsExactly(s1);
        } finally {
            for (Process p : List.of(balanced, direct)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void udpUnconnectedAndConnectedSeeTheVirtualAddress() throws Exception {
        Service udp = new Service(Protocol.UDP, new InetSocketAddress(ConnectTestNet.VIP.getAddress(), 53), net.client);
        vs.addService(udp, Scheduler.RR);
        vs.addReal(udp, net.real(1, ConnectTestNet.UDP_PORT), 1);
        vs.addReal(udp, net.real(2, ConnectTestNet.UDP_PORT), 1);
        for (String mode : List.of("unconnected", "connected")) {
            JsonNode result = runJson(net.inScope(net.client("udp", "20", "10.77.200.1", "53", mode)));
            // One socket sticks to one real server; every reply appears to come from the virtual address.
            assertThat(result.path("counts").size()).as(mode).isEqualTo(1);
            assertThat(result.path("counts").elements().next().asInt()).as(mode).isEqualTo(20);
            assertThat(result.path("sources").toString()).as(mode).isEqualTo("[\"10.77.200.1:53\"]");
        }
    }

    @Test
    void ipv6() throws Exception {
        Service tcp6 = new Service(Protocol.TCP, ConnectTestNet.VIP6, net.client);
        vs.addService(tcp6, Scheduler.WRR);
        vs.addReal(tcp6, net.real6(1, ConnectTestNet.REDIS_PORT), 1);
        vs.addReal(tcp6, net.real6(2, ConnectTestNet.REDIS_PORT), 1);
        JsonNode result = spread(100, ConnectTestNet.VIP6);
        // Each CPU walks the ring exactly; a process moving between the two CPUs can shift one or two.
        assertThat(count(result, "s1")).isBetween(45, 55);
        assertThat(count(result, "s2")).isEqualTo(100 - count(result, "s1"));
        assertThat(result.path("peers").toString()).isEqualTo("[\"[fd77:0:200::1]:6379\"]");
        String who = Shell.run(net.inScope("redis-cli", "-h", "fd77:0:200::1", "-p", "6379", "GET", "who")).strip();
        assertThat(who).isIn("s1", "s2");

        Service udp6 = new Service(Protocol.UDP, new InetSocketAddress(ConnectTestNet.VIP6.getAddress(), 53), net.client);
        vs.addService(udp6, Scheduler.RR);
        vs.addReal(udp6, net.real6(2, ConnectTestNet.UDP_PORT), 1);
        JsonNode udp = runJson(net.inScope(net.client("udp", "5", "fd77:0:200::1", "53", "unconnected")));
        assertThat(count(udp, "s2")).isEqualTo(5);
        assertThat(udp.path("sources").toString()).isEqualTo("[\"[fd77:0:200::1]:53\"]");
    }

    @Test
    void aServiceWithoutUsableRealRefusesAtOnce() throws Exception {
        vs.addService(tcp, Scheduler.WRR);
        assertThat(runJson(net.inScope(net.client("refused", "10.77.200.1", "6379"))).path("errno").asText()).isEqualTo("ECONNREFUSED");
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 0);
        assertThat(runJson(net.inScope(net.client("refused", "10.77.200.1", "6379"))).path("errno").asText()).isEqualTo("ECONNREFUSED");
        vs.editReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 2);
        assertThat(runJson(net.inScope(net.client("refused", "10.77.200.1", "6379"))).path("errno").asText()).isEqualTo("none");
    }

    @Test
    void redisBenchmarkThroughTheVirtualAddress() throws Exception {
        vs.addService(tcp, Scheduler.WRR);
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 1);
        vs.addReal(tcp, net.real(2, ConnectTestNet.REDIS_PORT), 1);
        Shell.run(net.inScope("redis-benchmark", "-h", "10.77.200.1", "-p", "6379", "-c", "10", "-n", "2000", "-t", "ping", "-q"));
        List<RealServer> reals = vs.list().getFirst().reals();
        assertThat(reals).allSatisfy(r -> assertThat(r.connections()).isGreaterThanOrEqualTo(5));
        assertThat(reals).allSatisfy(r -> assertThat(r.activeConnections()).isZero());
    }

    @Test
    void saveAndRestoreRoundTrip() throws Exception {
        vs.addService(tcp, Scheduler.LC);
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 3);
        vs.addReal(tcp, net.real(2, ConnectTestNet.REDIS_PORT), 0);
        Service udp6 = new Service(Protocol.UDP, new InetSocketAddress(ConnectTestNet.VIP6.getAddress(), 53), net.client);
        vs.addService(udp6, Scheduler.SH);
        vs.addReal(udp6, net.real6(1, 53), 7);
        String saved = vs.save();
        assertThat(saved).contains("-A -t 10.77.200.1:6379 -s lc --netns " + net.client)
                .contains("-a -t 10.77.200.1:6379 -r 10.77.102.2:6380 -w 0 --netns " + net.client)
                .contains("-a -u [fd77:0:200::1]:53 -r [fd77:0:101::2]:53 -w 7 --netns " + net.client);
        vs.clear();
        assertThat(vs.list()).isEmpty();
        vs.restore(saved);
        assertThat(vs.save()).isEqualTo(saved);
        assertThat(count(spread(10, ConnectTestNet.VIP), "s1")).isEqualTo(10);
    }

    @Test
    void everyBadInputIsRejectedPreciselyAndChangesNothing() throws Exception {
        vs.addService(tcp, Scheduler.WRR);
        InetSocketAddress s1 = net.real(1, ConnectTestNet.REDIS_PORT);
        vs.addReal(tcp, s1, 1);
        String before = vs.save();
        Service unknown = new Service(Protocol.UDP, ConnectTestNet.VIP, net.client);

        assertThatThrownBy(() -> vs.addService(tcp, Scheduler.RR)).hasMessageContaining("already exists");
        assertThatThrownBy(() -> vs.addReal(tcp, s1, 2)).hasMessageContaining("already exists");
        assertThatThrownBy(() -> vs.addReal(unknown, s1, 1)).hasMessageContaining("no virtual service udp 10.77.200.1:6379");
        assertThatThrownBy(() -> vs.editReal(tcp, net.real(2, 1), 1)).hasMessageContaining("is not in");
        assertThatThrownBy(() -> vs.deleteReal(tcp, net.real(2, 1), false)).hasMessageContaining("is not in");
        assertThatThrownBy(() -> vs.deleteService(unknown)).hasMessageContaining("no virtual service");
        assertThatThrownBy(() -> vs.addReal(tcp, net.real6(1, 1), 1)).hasMessageContaining("address family");
        assertThatThrownBy(() -> vs.addReal(tcp, net.real(2, 1), -1)).hasMessageContaining("bad weight");
        assertThatThrownBy(() -> vs.addReal(tcp, net.real(2, 1), 10_001)).hasMessageContaining("bad weight");
        assertThatThrownBy(() -> vs.addService(new Service(Protocol.TCP, ConnectTestNet.VIP, "sl-no-such-netns"), Scheduler.RR))
                .hasMessageContaining("no network namespace sl-no-such-netns");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.2:80 -r 10.0.0.3:80 -w 1\n"))
                .hasMessageContaining("unknown virtual service");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s wrr\n")).hasMessageContaining("appears twice");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.3:80\n-a -t 10.0.0.1:80 -r 10.0.0.3:80\n"))
                .hasMessageContaining("appears twice");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -s rr\n\n-A -t 10.0.0.2:80 -s fastest\n"))
                .hasMessage("line 3: unknown scheduler 'fastest' (known: rr, wrr, random, lc, sh)");
        assertThatThrownBy(() -> vs.restore("-X -t 10.0.0.1:80\n")).hasMessageContaining("line 1: expected -A or -a");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -s\n")).hasMessageContaining("lacks its value");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -r 10.0.0.3:80\n"))
                .hasMessage("line 2: option -r given twice");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -s rr -s wrr\n")).hasMessage("line 1: option -s given twice");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -u 10.0.0.1:80\n")).hasMessage("line 1: more than one -t/-u");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 -r 10.0.0.2:80\n")).hasMessageContaining("-r belongs to -a lines");
        assertThatThrownBy(() -> vs.restore("-A -t 10.0.0.1:80 --netns ../etc\n")).hasMessageContaining("bad network namespace name");
        assertThatThrownBy(() -> vs.restore("-A " + "x".repeat(600) + "\n")).hasMessageContaining("longer than 512");
        assertThatThrownBy(() -> vs.restore("#".repeat(Config.MAX_TEXT + 1))).hasMessageContaining("larger than");
        assertThat(vs.save()).isEqualTo(before);

        assertThatThrownBy(() -> Config.parseEndpoint("localhost:80")).hasMessageContaining("not an IP address literal");
        assertThatThrownBy(() -> Config.parseEndpoint("10.0.0.1")).hasMessageContaining("expected IPV4:PORT");
        assertThatThrownBy(() -> Config.parseEndpoint("10.0.0.1:0")).hasMessageContaining("port must be 1..65535");
        assertThatThrownBy(() -> Config.parseEndpoint("10.0.0.1:65536")).hasMessageContaining("port must be 1..65535");
        assertThatThrownBy(() -> Config.parseEndpoint("10.0.0.256:80")).hasMessageContaining("not an IP address literal");
        assertThatThrownBy(() -> Config.parseEndpoint("10:80")).hasMessageContaining("not an IP address literal");
        assertThatThrownBy(() -> Config.parseEndpoint("10.1:80")).hasMessageContaining("not an IP address literal");
        assertThatThrownBy(() -> Config.parseEndpoint("fd00::1:80")).hasMessageContaining("expected IPV4:PORT");
        assertThatThrownBy(() -> Config.parseEndpoint("[10.0.0.1]:80")).hasMessageContaining("go in brackets");
        assertThatThrownBy(() -> Config.parseEndpoint("0.0.0.0:80")).hasMessageContaining("not a unicast address");
        assertThatThrownBy(() -> Config.parseWeight("1e3")).hasMessageContaining("bad weight");
        assertThat(Config.format(Config.parseEndpoint("[fd77:0:0:1:0:0:0:1]:80"))).isEqualTo("[fd77:0:0:1::1]:80");
        assertThat(Config.format(Config.parseEndpoint("[::1]:80"))).isEqualTo("[::1]:80");
        assertThat(Config.format(Config.parseEndpoint("[fd77::]:80"))).isEqualTo("[fd77::]:80");
        assertThat(Config.format(Config.parseEndpoint("[1:0:2:0:3:0:4:5]:80"))).isEqualTo("[1:0:2:0:3:0:4:5]:80");
    }

    @Test
    void uninstallDetachesEverything() throws Exception {
        vs.addService(tcp, Scheduler.RR);
        vs.addReal(tcp, net.real(1, ConnectTestNet.REDIS_PORT), 1);
        assertThat(count(spread(1, ConnectTestNet.VIP), "s1")).isEqualTo(1);
        vs.close();
        Installation.uninstall(net.pinDir);
        assertThat(Files.exists(net.pinDir)).isFalse();
        assertThat(runJson(net.inScope(net.client("refused", "10.77.200.1", "6379"))).path("errno").asText()).isEqualTo("ENETUNREACH");
        vs = ConnectBalancer.openOrInstall(net.pinDir, net.cgroup);
    }
}
