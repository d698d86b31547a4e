package io.socketlauncher.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.bpf.proxy.Flow;
import io.socketlauncher.bpf.proxy.FlowTuple;
import io.socketlauncher.bpf.proxy.ReverseEntry;
import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.testbed.Host;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The forwarding edge cases of the data plane and the expiry sweep over tables bigger than one batch. */
class ForwardingTest {
    @Test
    void xdpReachesAClientTheProxyHasNoNeighbourForYet() throws Exception {
        try (Bed bed = Bed.start(1, 1, Hook.XDP, Mode.NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            bed.redis(1);
            Host client = bed.tb.client(1), lb = bed.tb.lb();
            String link = client.lbSideInterface(), clientAddress = client.address().getHostAddress();
            // The client knows the lb's MAC without asking, so the lb never learns the client's from an ARP request.
            String lbMac = lb.exec("cat", "/sys/class/net/" + link + "/address").stdout().trim();
            assertThat(lbMac).matches("[0-9a-f:]{17}");
            client.exec("ip", "neigh", "replace", client.gateway().getHostAddress(), "lladdr", lbMac, "nud", "permanent", "dev", client.linkToLb());
            lb.exec("ip", "neigh", "flush", "dev", link);
            assertThat(lb.exec("ip", "neigh", "show", "dev", link, "to", clientAddress).stdout())
                    .as("the lb's neighbour entry for the client").doesNotContain("lladdr");

            // The server's SYN-ACK finds no neighbour in bpf_fib_lookup: the kernel must resolve it and forward.
            String reply = client.exec("timeout", "10", "redis-cli", "-h", bed.vip.getAddress().getHostAddress(), "-p", "6379", "ping").stdout();
            assertThat(reply.trim()).isEqualTo("PONG");
            assertThat(lb.exec("ip", "neigh", "show", "dev", link, "to", clientAddress).stdout()).contains("lladdr");
            bed.proxy.maintainNow();
            assertThat(bed.proxy.backends().getFirst().packets()).as("packets the proxy NATed to s1").isPositive();
        }
    }

    @Test
    void tcHandsPacketsToTheServersVethPeerWithoutTransmittingOnTheLbSide() throws Exception {
        try (Bed bed = Bed.start(1, 1, Hook.TC, Mode.NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            bed.redis(1);
            Host server = bed.tb.server(1), lb = bed.tb.lb();
            long lbSent = packets(lb, server.lbSideInterface(), "tx"), serverReceived = packets(server, server.linkToLb(), "rx");
            String out = bed.tb.client(1).exec("redis-benchmark", "-h", bed.vip.getAddress().getHostAddress(), "-p", "6379",
                    "-c", "10", "-n", "5000", "-t", "ping", "-q").stdout();
            assertThat(out).contains("PING").doesNotContain("rror");
            long received = packets(server, server.linkToLb(), "rx") - serverReceived;
            long sent = packets(lb, server.lbSideInterface(), "tx") - lbSent;
            // bpf_redirect_peer counts the packets on the server's side only; a transmit by the lb would count both.
            assertThat(received).as("packets the server received").isGreaterThan(5000);
            assertThat(sent).as("packets the lb transmitted towards the server").isLessThan(received / 10);
        }
    }

    private static long packets(Host h, String link, String direction) throws Exception {
        return Long.parseLong(h.exec("cat", "/sys/class/net/" + link + "/statistics/" + direction + "_packets").stdout().trim());
    }

    @Test
    void theSweepExpiresIdleAndClosedFlowsAndOrphansAcrossManyBatches() throws Exception {
        try (Bed bed = Bed.start(1, 1, Hook.TC, Mode.NAT, Algorithm.MAGLEV, 6379, 6379,
                c -> c.withTimeouts(Duration.ofMinutes(5), Duration.ofSeconds(10)))) {
            var program = bed.proxy.program();
            InetSocketAddress vip = bed.vip, backend = new InetSocketAddress(bed.tb.server(1).address(), 6379);
            int slot = 0;
            long now = System.nanoTime();
            int each = 6_000; // more than one batch (4096) of every kind
            Set<FlowTuple> kept = new HashSet<>();
            for (int i = 0; i < 4 * each; i++) {
                FlowTuple key = new FlowTuple(new InetSocketAddress(client(i), 1024 + (i % 50_000)), vip);
                int kind = i / each;
                Flow flow = switch (kind) {
                    case 0 -> new Flow(now - Duration.ofMinutes(6).toNanos(), 0, 1, 60, slot, 0, 0);         // idle too long
                    case 1 -> new Flow(now - Duration.ofSeconds(11).toNanos(), now - Duration.ofSeconds(12).toNanos(), 1, 60, slot, 0, 1); // closed, grace over
                    case 2 -> new Flow(now - Duration.ofSeconds(11).toNanos(), 0, 1, 60, slot, 0, 0);        // quiet but open
                    default -> new Flow(now, now - Duration.ofSeconds(1).toNanos(), 1, 60, slot, 0, 1);    // closing, in grace
                };
                if (kind >= 2) kept.add(key);
                program.flows.put(key, flow);
                program.reverse.put(new FlowTuple(backend, key.source()), new ReverseEntry(key, slot));
            }
            for (int i = 0; i < each; i++) {
                // Reverse entries whose client flow never existed.
                FlowTuple ghost = new FlowTuple(new InetSocketAddress(client(100_000 + i), 1024 + i), vip);
                program.reverse.put(new FlowTuple(backend, ghost.source()), new ReverseEntry(ghost, slot));
            }

            bed.proxy.maintainNow();

            Set<FlowTuple> flows = new HashSet<>(), reverseClients = new HashSet<>();
            program.flows.forEach(Integer.MAX_VALUE, (k, f) -> flows.add(k));
            program.reverse.forEach(Integer.MAX_VALUE, (k, r) -> reverseClients.add(r.client()));
            assertThat(flows).as("flows left by the sweep").isEqualTo(kept);
            assertThat(reverseClients).as("reverse entries left by the sweep, by client flow").isEqualTo(kept);
            assertThat(bed.proxy.backends().getFirst().activeFlows()).isEqualTo(kept.size());
        }
    }

    private static InetAddress client(int i) throws Exception {
        return InetAddress.getByAddress(new byte[] {10, 2, (byte) (i >>> 16), (byte) (i >>> 8)});
    }
}
