package io.socketlauncher.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.bpf.proxy.Flow;
import io.socketlauncher.bpf.proxy.FlowTuple;
import io.socketlauncher.testbed.Host;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Real clients through the VIP on the testbed. */
class ProxyTrafficTest {
    @Test
    void redisBenchmarkThroughTheVipIsServedByBothServers() throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.XDP, Mode.NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            assertThat(bed.proxy.hooks()).containsValue(Hook.XDP).doesNotContainValue(Hook.TC);
            bed.redis(1);
            bed.redis(2);
            long before1 = Bed.redisConnections(bed.tb.server(1)), before2 = Bed.redisConnections(bed.tb.server(2));
            var r = bed.tb.client(1).exec("redis-benchmark", "-h", bed.vip.getAddress().getHostAddress(), "-p", "6379",
                    "-c", "50", "-n", "20000", "-t", "ping,set,get", "-q");
            assertThat(r.stdout()).contains("PING_INLINE").contains("SET").contains("GET").doesNotContain("rror");
            long served1 = Bed.redisConnections(bed.tb.server(1)) - before1, served2 = Bed.redisConnections(bed.tb.server(2)) - before2;
            assertThat(served1).as("connections served by s1").isPositive();
            assertThat(served2).as("connections served by s2").isPositive();
            assertThat(served1 + served2).isGreaterThanOrEqualTo(150);
            assertThat(bed.proxy.scrape()).contains("proxy_backend_packets_total{backend=\"s1\"");
        }
    }

    @Test
    void curlAndWrkReachHttpBackendsInFullNatWithAnotherBackendPort() throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.AUTO, Mode.FULL_NAT, Algorithm.ROUND_ROBIN, 80, 8080, null)) {
            assertThat(bed.proxy.hooks()).as("AUTO on veths").containsOnly(java.util.Map.entry("c1", Hook.TC),
                    java.util.Map.entry("s1", Hook.TC), java.util.Map.entry("s2", Hook.TC));
            List<Process> servers = new ArrayList<>();
            for (int i = 1; i <= 2; i++) {
                servers.add(bed.tb.server(i).startWithOutput("python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", "/usr/share/doc"));
                Bed.awaitListening(bed.tb.server(i), 8080);
            }
            bed.proxy.checkHealthNow();
            Host client = bed.tb.client(1);
            String url = "http://" + bed.vip.getAddress().getHostAddress() + ":80/";
            for (int i = 0; i < 6; i++) {
                assertThat(client.exec("curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", url).stdout()).isEqualTo("200");
            }
            String wrk = client.exec("wrk", "-t", "2", "-c", "20", "-d", "2s", "--timeout", "10s", url).stdout();
            assertThat(wrk).contains("Requests/sec").doesNotContain("Socket errors").doesNotContain("Non-2xx");
            // Full NAT: each server logged requests from the proxy's address on its link, never the client's.
            for (int i = 1; i <= 2; i++) {
                Process server = servers.get(i - 1);
                server.toHandle().destroy();
                String log = new String(server.getErrorStream().readAllBytes());
                assertThat(log).as("server %d's request log", i).contains(bed.tb.server(i).gateway().getHostAddress() + " - - ")
                        .contains("\"GET / HTTP/1.1\" 200").doesNotContain(client.address().getHostAddress());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Hook.class, names = {"XDP", "TC"})
    void iperf3ThroughTheVip(Hook hook) throws Exception {
        try (Bed bed = Bed.start(1, 1, hook, Mode.NAT, Algorithm.MAGLEV, 5201, 5201, null)) {
            bed.tb.server(1).start("iperf3", "-s");
            Bed.awaitListening(bed.tb.server(1), 5201);
            bed.proxy.checkHealthNow();
            // Several streams: with offloads on (TC) they are GSO packets far beyond the MTU.
            String json = bed.tb.client(1).exec("iperf3", "-c", bed.vip.getAddress().getHostAddress(), "-n", "200M", "-P", "4", "-J").stdout();
            assertThat(json).contains("\"sum_received\"").doesNotContain("\"error\"");
            bed.proxy.maintainNow();
            var counters = bed.proxy.backends().getFirst();
            assertThat(counters.bytes()).as("bytes through the proxy to s1").isGreaterThan(150_000_000);
        }
    }

    @Test
    void fullNatGivesEveryFlowItsOwnProxyPortUnderManyClients() throws Exception {
        try (Bed bed = Bed.start(4, 2, Hook.TC, Mode.FULL_NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            bed.redis(1);
            bed.redis(2);
            List<Process> loads = new ArrayList<>();
            for (Host c : bed.tb.clients()) {
                loads.add(c.startWithOutput("redis-benchmark", "-h", bed.vip.getAddress().getHostAddress(), "-p", "6379",
                        "-c", "100", "-n", "100000", "-t", "ping", "-q"));
            }
            // Sample the flow table while all 400 connections are open.
            Set<String> ports = new HashSet<>();
            int flows = 0;
            for (int attempt = 0; attempt < 100 && flows < 400; attempt++) {
                Thread.sleep(100);
                ports.clear();
                List<Flow> seen = new ArrayList<>();
                bed.proxy.program().flows.forEach(Integer.MAX_VALUE, (FlowTuple k, Flow f) -> {
                    if (!f.closing()) seen.add(f);
                });
                flows = seen.size();
                for (Flow f : seen) ports.add(f.backend() + "/" + f.natPort());
            }
            assertThat(flows).as("open flows").isGreaterThanOrEqualTo(400);
            assertThat(ports).as("distinct (backend, proxy port) pairs").hasSize(flows);
            for (Process p : loads) {
                assertThat(p.waitFor()).isZero();
                String out = new String(p.getInputStream().readAllBytes());
                assertThat(out).contains("PING").doesNotContain("rror");
            }
            long established = 0;
            for (Host s : bed.tb.servers()) established += Bed.redisConnections(s);
            assertThat(established).isGreaterThanOrEqualTo(400);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Hook.class, names = {"XDP", "TC"})
    void ipv6ThroughTheVipInFullNat(Hook hook) throws Exception {
        try (Bed bed = Bed.start(1, 2, hook, Mode.FULL_NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            InetSocketAddress vip6 = new InetSocketAddress(bed.tb.serviceAddress6(), 6379);
            bed.proxy.addService(new ProxyConfig.ServiceConfig(vip6, Mode.FULL_NAT, Algorithm.MAGLEV, List.of()));
            bed.proxy.addBackend(vip6, "s1-v6", new InetSocketAddress(bed.tb.server(1).address6(), 6379), 1);
            bed.proxy.addBackend(vip6, "s2-v6", new InetSocketAddress(bed.tb.server(2).address6(), 6379), 1);
            bed.redis(1);
            bed.redis(2);
            long before1 = Bed.redisConnections(bed.tb.server(1)), before2 = Bed.redisConnections(bed.tb.server(2));
            String out = bed.tb.client(1).exec("redis-benchmark", "-h", bed.tb.serviceAddress6().getHostAddress(), "-p", "6379",
                    "-c", "20", "-n", "4000", "-t", "ping", "-q").stdout();
            assertThat(out).contains("PING").doesNotContain("rror");
            assertThat(Bed.redisConnections(bed.tb.server(1)) - before1).as("s1 over IPv6").isGreaterThan(1);
            assertThat(Bed.redisConnections(bed.tb.server(2)) - before2).as("s2 over IPv6").isGreaterThan(1);
            bed.proxy.maintainNow();
            assertThat(bed.proxy.backends()).filteredOn(b -> b.id().endsWith("-v6")).allMatch(b -> b.packets() > 0);
        }
    }
}
