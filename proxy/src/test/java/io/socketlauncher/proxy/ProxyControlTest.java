package io.socketlauncher.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.proxy.control.BackendInfo;
import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.testbed.Host;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Run-time control of the proxy on the testbed: re-pointing a flow, health, draining, metrics, the control protocol. */
class ProxyControlTest {
    private static SocketChannel connect(Host client, InetSocketAddress vip) throws Exception {
        return client.namespace().call(() -> SocketChannel.open(vip));
    }

    private static String ping(SocketChannel ch) throws Exception {
        ch.write(ByteBuffer.wrap("PING\r\n".getBytes(StandardCharsets.US_ASCII)));
        ByteBuffer in = ByteBuffer.allocate(64);
        while (in.position() < 7 && ch.read(in) > 0) {
            // "+PONG\r\n"
        }
        return new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII);
    }

    private static String backendOf(Proxy proxy, SocketChannel ch, InetSocketAddress vip) throws Exception {
        FlowKey key = new FlowKey((InetSocketAddress) ch.getLocalAddress(), vip);
        return proxy.flows(Integer.MAX_VALUE).stream().filter(f -> f.key().equals(key)).findFirst().orElseThrow().backendId();
    }

    @Test
    void aRedirectedFlowReachesOnlyTheNewBackendWithCorrectChecksums() throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.XDP, Mode.NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            bed.redis(1);
            bed.redis(2);
            try (SocketChannel ch = connect(bed.tb.client(1), bed.vip)) {
                assertThat(ping(ch)).isEqualTo("+PONG\r\n");
                InetSocketAddress local = (InetSocketAddress) ch.getLocalAddress();
                String from = backendOf(bed.proxy, ch, bed.vip);
                String to = from.equals("s1") ? "s2" : "s1";
                Host oldServer = bed.tb.server(from.equals("s1") ? 1 : 2), newServer = bed.tb.server(to.equals("s1") ? 1 : 2);
                String filter = "tcp and src host " + local.getAddress().getHostAddress() + " and src port " + local.getPort();
                Process oldCapture = Bed.capture(oldServer, filter), newCapture = Bed.capture(newServer, filter);

                FlowInfo confirmed = bed.proxy.redirect(new FlowKey(local, bed.vip), to);
                assertThat(confirmed.backendId()).isEqualTo(to);
                ch.write(ByteBuffer.wrap("PING\r\n".getBytes(StandardCharsets.US_ASCII)));

                String atNew = Bed.stopCapture(newCapture), atOld = Bed.stopCapture(oldCapture);
                assertThat(atNew).as("capture on the new backend").contains("Flags [P.]").contains("(correct)").doesNotContain("incorrect");
                assertThat(atOld).as("capture on the old backend").doesNotContain(local.getAddress().getHostAddress() + "." + local.getPort());
            }
            assertThatThrownBy(() -> bed.proxy.redirect(new FlowKey(new InetSocketAddress("10.9.9.9", 1), bed.vip), "s1"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no flow");
        }
    }

    /**
     * A live migration's source keeps sending until it captures the connection (its ACKs, data it wrote
     * before): that must reach the client, NATed back to the VIP with valid checksums; the reset its closed
     * socket sends later must not. The new backend here has no socket for the flow, so its own resets (to
     * the client's ACKs) are dropped on its side, as a migration's target holds the flow's packets instead.
     */
    @ParameterizedTest
    @CsvSource({"XDP, NAT", "XDP, FULL_NAT", "TC, NAT", "TC, FULL_NAT"})
    void theOldBackendOfARedirectedFlowStillReachesTheClientButItsResetDoesNot(Hook hook, Mode mode) throws Exception {
        try (Bed bed = Bed.start(1, 2, hook, mode, Algorithm.MAGLEV, 7000, 7000, null);
             ServerSocketChannel l1 = listen(bed.tb.server(1), 7000); ServerSocketChannel l2 = listen(bed.tb.server(2), 7000)) {
            // Full checksums from the servers, so that the client's capture can vouch for the NAT's checksum updates.
            for (Host h : bed.tb.servers()) h.exec("ethtool", "-K", h.linkToLb(), "tx", "off");
            Host client = bed.tb.client(1);
            try (SocketChannel ch = connect(client, bed.vip)) {
                ch.write(ByteBuffer.wrap(HELLO.clone()));
                InetSocketAddress local = (InetSocketAddress) ch.getLocalAddress();
                String from = backendOf(bed.proxy, ch, bed.vip);
                String to = from.equals("s1") ? "s2" : "s1";
                Host oldServer = bed.tb.server(from.equals("s1") ? 1 : 2), newServer = bed.tb.server(to.equals("s1") ? 1 : 2);
                try (SocketChannel atOld = acceptHello(from.equals("s1") ? l1 : l2)) {
                    InetSocketAddress peer = (InetSocketAddress) atOld.getRemoteAddress(); // the client, or in full NAT the proxy's address and port
                    newServer.exec("iptables", "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-j", "DROP");
                    String vip = bed.vip.getAddress().getHostAddress() + "." + bed.vip.getPort();
                    String toClient = vip + " > " + local.getAddress().getHostAddress() + "." + local.getPort() + ": Flags ";
                    Process clientCapture = Bed.capture(client, "tcp and src host " + bed.vip.getAddress().getHostAddress());
                    Process oldCapture = Bed.capture(oldServer, "tcp and src port 7000");

                    assertThat(bed.proxy.redirect(new FlowKey(local, bed.vip), to).backendId()).isEqualTo(to);
                    byte[] late = "written before the capture\n".getBytes(StandardCharsets.US_ASCII);
                    atOld.write(ByteBuffer.wrap(late));
                    assertThat(readExactly(ch, late.length)).as("the old backend's data at the client").isEqualTo(late);
                    atOld.setOption(StandardSocketOptions.SO_LINGER, 0);
                    atOld.close(); // a reset
                    // The client's next segment goes to the new backend; a reset that got through would show here.
                    ch.write(ByteBuffer.wrap(HELLO.clone()));

                    String atClient = Bed.stopCapture(clientCapture), sentByOld = Bed.stopCapture(oldCapture);
                    assertThat(sentByOld).as("capture on the old backend").contains(oldServer.address().getHostAddress() + ".7000 > "
                            + peer.getAddress().getHostAddress() + "." + peer.getPort() + ": Flags [R");
                    List<String> seen = atClient.lines().filter(line -> line.contains(toClient)).toList();
                    assertThat(seen).as("segments from the VIP at the client").anySatisfy(line -> assertThat(line)
                            .contains("Flags [P.]").contains("(correct)"));
                    assertThat(seen).as("segments from the VIP at the client")
                            .allSatisfy(line -> assertThat(line).doesNotContain("Flags [R").doesNotContain("incorrect"));
                    ch.configureBlocking(false);
                    assertThat(ch.read(ByteBuffer.allocate(1))).as("the client's connection, still open").isZero();
                }
            }
        }
    }

    /** A client's connection through a full-NAT VIP, at its backend ("home"); the other backend is "away". */
    private record AtHome(Bed bed, SocketChannel client, FlowKey key, String home, String away, SocketChannel server) {}

    private interface AtHomeTest {
        void run(AtHome c) throws Exception;
    }

    /** Runs {@code test} on a connection that said hello through a full-NAT VIP with a source address per backend. */
    private static void atHome(AtHomeTest test) throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.TC, Mode.FULL_NAT, Algorithm.MAGLEV, 7000, 7000, null);
             ServerSocketChannel l1 = listen(bed.tb.server(1), 7000); ServerSocketChannel l2 = listen(bed.tb.server(2), 7000);
             SocketChannel ch = connect(bed.tb.client(1), bed.vip)) {
            ch.write(ByteBuffer.wrap(HELLO.clone()));
            FlowKey key = new FlowKey((InetSocketAddress) ch.getLocalAddress(), bed.vip);
            String home = backendOf(bed.proxy, ch, bed.vip);
            try (SocketChannel atHome = acceptHello(home.equals("s1") ? l1 : l2)) {
                test.run(new AtHome(bed, ch, key, home, home.equals("s1") ? "s2" : "s1", atHome));
            }
        }
    }

    /**
     * In full NAT a backend knows the flow by the proxy's address and port. A flow sent away and back keeps its port
     * towards the backend it left (its entry there stays until the flow ends), so the connection it had there goes on:
     * a live migration there and back needs that.
     */
    @Test
    void aFullNatFlowSentAwayAndBackKeepsItsPortAndItsConnection() throws Exception {
        atHome(c -> {
            int port = c.bed().proxy.flow(c.key()).natPort();
            assertThat(((InetSocketAddress) c.server().getRemoteAddress()).getPort()).as("the backend sees the proxy's port").isEqualTo(port);

            assertThat(c.bed().proxy.redirect(c.key(), c.away()).backendId()).isEqualTo(c.away());
            assertThat(c.bed().proxy.redirect(c.key(), c.home()).backendId()).isEqualTo(c.home());
            assertThat(c.bed().proxy.flow(c.key()).natPort()).as("the port towards the backend it came back to").isEqualTo(port);

            byte[] again = "hello again\n".getBytes(StandardCharsets.US_ASCII);
            c.client().write(ByteBuffer.wrap(again));
            assertThat(readExactly(c.server(), again.length)).as("the connection at home goes on").isEqualTo(again);
            c.server().write(ByteBuffer.wrap(again));
            assertThat(readExactly(c.client(), again.length)).isEqualTo(again);
        });
    }

    /**
     * A migrating server names the flow as its socket sees it: in full NAT, the proxy's source address and port, and
     * its own address. The flow keeps that peer at the new backend, or the redirect is refused: here each backend is
     * reached from the load balancer's address on its own link, so the flow can't move, and stays where it was.
     */
    @Test
    void aFullNatFlowNamedAsItsBackendSeesItMovesOnlyWhereItsPeerStaysTheSame() throws Exception {
        atHome(c -> {
            Proxy proxy = c.bed().proxy;
            FlowKey asServed = new FlowKey((InetSocketAddress) c.server().getRemoteAddress(), (InetSocketAddress) c.server().getLocalAddress());
            assertThat(proxy.redirect(asServed, c.home()).key()).as("resolved to the client's flow").isEqualTo(c.key());
            assertThatThrownBy(() -> proxy.redirect(asServed, c.away())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("can't move there");
            assertThat(backendOf(proxy, c.client(), c.bed().vip)).as("the refused flow's backend").isEqualTo(c.home());
            assertThatThrownBy(() -> proxy.redirect(new FlowKey(asServed.client(), new InetSocketAddress(c.bed().tb.server(1).address(), 7999)), c.away()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no flow");
        });
    }

    /**
     * A segment a migrating server forwards to the flow's new backend passes the load balancer with the proxy's
     * full-NAT source address, the load balancer's own: its kernel drops such a packet as a martian, so the data plane
     * forwards it, from a service's one source address to that service's backends, arriving from a link to one of
     * them, and nothing else (a client could send it too).
     */
    @ParameterizedTest
    @CsvSource({"XDP", "TC"})
    void aSegmentFromTheServicesSourceAddressIsForwardedToItsBackendsOnly(Hook hook) throws Exception {
        try (Bed bed = Bed.start(1, 2, hook, Mode.FULL_NAT, Algorithm.MAGLEV, 7000, 7000, null)) {
            Host s1 = bed.tb.server(1), s2 = bed.tb.server(2), c1 = bed.tb.client(1);
            InetAddress named = bed.tb.proxySourceAddress(), unnamed = bed.tb.client(1).gateway(); // both the load balancer's
            sharedSnatService(bed, 7001, Algorithm.MAGLEV);
            for (InetAddress a : List.of(named, unnamed)) s1.exec("ip", "addr", "add", a.getHostAddress() + "/32", "dev", "lo");
            c1.exec("ip", "addr", "add", named.getHostAddress() + "/32", "dev", "lo");
            // The gateway's MAC first: asked for it from the load balancer's own address, the load balancer would not answer.
            for (Host h : List.of(s1, c1)) h.exec("ping", "-c", "1", "-W", "2", "-I", h.address().getHostAddress(), h.gateway().getHostAddress());
            // Only what comes from the two addresses: the proxy's health checks reach s2 too.
            Process atS2 = Bed.capture(s2, "tcp[tcpflags] & tcp-syn != 0 and (src host " + named.getHostAddress() + " or src host "
                    + unnamed.getHostAddress() + ")");
            // From s1: to the service's backend from its source address (port 41001); from another of the load balancer's
            // addresses; from its source address to a backend of the other service (whose source addresses are per
            // backend). From the client c1: to the service's backend from its source address (port 41002).
            sendSyn(s1, new InetSocketAddress(named, 41001), new InetSocketAddress(s2.address(), 7001));
            sendSyn(s1, new InetSocketAddress(unnamed, 0), new InetSocketAddress(s2.address(), 7001));
            sendSyn(s1, new InetSocketAddress(named, 0), new InetSocketAddress(s2.address(), 7000));
            sendSyn(c1, new InetSocketAddress(named, 41002), new InetSocketAddress(s2.address(), 7001));
            String seen = Bed.stopCapture(atS2);
            assertThat(seen).as("SYNs reaching s2").contains(named.getHostAddress() + ".41001 > ")
                    .doesNotContain(unnamed.getHostAddress() + ".").doesNotContain(".7000:").doesNotContain(".41002 > ");
        }
    }

    /**
     * With one source address for the service, a proxy port is the flow's towards every backend: a flow can move to any
     * of them without its peer (the restored socket's) being another flow's there. Reserved per backend, as with each
     * backend's own source address, 75 flows at each of two backends in 1,000 ports share about six ports.
     */
    @Test
    void withOneSourceAddressAProxyPortIsReservedAcrossTheService() throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.TC, Mode.FULL_NAT, Algorithm.ROUND_ROBIN, 7000, 7000, c -> c.withNatPorts(20000, 20999))) {
            InetSocketAddress vip = sharedSnatService(bed, 7001, Algorithm.ROUND_ROBIN);
            List<SocketChannel> open = new ArrayList<>();
            try (ServerSocketChannel l1 = listen(bed.tb.server(1), 7001, 256); ServerSocketChannel l2 = listen(bed.tb.server(2), 7001, 256)) {
                for (int i = 0; i < 150; i++) open.add(connect(bed.tb.client(1), vip));
                Map<Integer, String> portOwner = new HashMap<>();
                Set<String> servedBy = new HashSet<>();
                for (SocketChannel ch : open) {
                    FlowKey key = new FlowKey((InetSocketAddress) ch.getLocalAddress(), vip);
                    String backend = backendOf(bed.proxy, ch, vip);
                    servedBy.add(backend);
                    String before = portOwner.put(bed.proxy.flow(key).natPort(), key.client().toString());
                    assertThat(before).as("the proxy port of " + key.client() + " at " + backend).isNull();
                }
                assertThat(servedBy).as("backends serving the flows").containsExactlyInAnyOrder("m1", "m2");
                assertThatThrownBy(() -> bed.proxy.addBackend(vip, "m3", new InetSocketAddress(bed.tb.server(2).address(), 7001), 1))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is another backend's already");
            } finally {
                for (SocketChannel ch : open) ch.close();
            }
        }
    }

    /**
     * A client that resets its connection and opens another from the same port is learned again: it takes its old
     * entries over and keeps its proxy port, where it used to leave them behind (held until the new flow ended) and
     * take the next port.
     */
    @Test
    void aFlowLearnedAgainKeepsItsProxyPort() throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.TC, Mode.FULL_NAT, Algorithm.MAGLEV, 7000, 7000, null)) {
            InetSocketAddress vip = sharedSnatService(bed, 7001, Algorithm.MAGLEV);
            Host client = bed.tb.client(1);
            try (ServerSocketChannel l1 = listen(bed.tb.server(1), 7001, 16); ServerSocketChannel l2 = listen(bed.tb.server(2), 7001, 16)) {
                InetSocketAddress from = new InetSocketAddress(client.address(), 45678);
                FlowKey key = new FlowKey(from, vip);
                int first = -1;
                for (int i = 0; i < 3; i++) {
                    try (SocketChannel ch = client.namespace().call(() -> {
                        SocketChannel c = SocketChannel.open();
                        c.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                        c.bind(from);
                        c.connect(vip);
                        return c;
                    })) {
                        int port = bed.proxy.flow(key).natPort();
                        if (first < 0) first = port;
                        assertThat(port).as("the proxy port of connection " + (i + 1) + " from " + from).isEqualTo(first);
                        ch.setOption(StandardSocketOptions.SO_LINGER, 0); // a reset: the port is free again at once
                    }
                }
            }
        }
    }

    /** Adds a full-NAT service on {@code port} with one source address, backends m1 and m2 on s1 and s2. */
    private static InetSocketAddress sharedSnatService(Bed bed, int port, Algorithm algorithm) throws Exception {
        InetSocketAddress vip = new InetSocketAddress(bed.tb.serviceAddress(), port);
        List<ProxyConfig.BackendConfig> backends = new ArrayList<>();
        for (int i = 1; i <= 2; i++) backends.add(new ProxyConfig.BackendConfig("m" + i, new InetSocketAddress(bed.tb.server(i).address(), port), 1));
        bed.proxy.addService(new ProxyConfig.ServiceConfig(vip, Mode.FULL_NAT, algorithm, backends, bed.tb.proxySourceAddress()));
        return vip;
    }

    /** One SYN from {@code from} (an address of {@code host}; port 0: any) to {@code to}; nothing waits for an answer. */
    private static void sendSyn(Host host, InetSocketAddress from, InetSocketAddress to) throws Exception {
        host.namespace().call(() -> {
            try (SocketChannel ch = SocketChannel.open()) {
                ch.bind(from);
                ch.configureBlocking(false);
                ch.connect(to);
                Thread.sleep(200);
            }
            return null;
        });
    }

    private static final byte[] HELLO = "hello\n".getBytes(StandardCharsets.US_ASCII);

    private static ServerSocketChannel listen(Host server, int port) throws Exception {
        return listen(server, port, 0);
    }

    /** {@code backlog} 0: the system's default. */
    private static ServerSocketChannel listen(Host server, int port, int backlog) throws Exception {
        return server.namespace().call(() -> ServerSocketChannel.open().bind(new InetSocketAddress(server.address(), port), backlog));
    }

    /** The connection that says hello; health checks connect to the same listener and close at once. */
    private static SocketChannel acceptHello(ServerSocketChannel listener) throws Exception {
        while (true) {
            SocketChannel ch = listener.accept();
            ch.socket().setSoTimeout(5_000);
            try {
                if (Arrays.equals(ch.socket().getInputStream().readNBytes(HELLO.length), HELLO)) return ch;
            } catch (SocketTimeoutException e) {
                // a health check that stayed connected
            }
            ch.close();
        }
    }

    private static byte[] readExactly(SocketChannel ch, int n) throws Exception {
        ch.socket().setSoTimeout(5_000);
        return ch.socket().getInputStream().readNBytes(n);
    }

    @Test
    void healthChecksTakeADeadBackendOutAndPutItBack() throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.TC, Mode.NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            bed.redis(1);
            Process s2 = bed.redis(2);
            s2.destroy();
            s2.waitFor();
            bed.proxy.checkHealthNow();
            assertThat(health(bed.proxy)).as("after one failed check").containsExactly("s1=true", "s2=true");
            for (int i = 1; i < Proxy.FAILS_TO_DOWN; i++) bed.proxy.checkHealthNow();
            assertThat(health(bed.proxy)).containsExactly("s1=true", "s2=false");
            long before = Bed.redisConnections(bed.tb.server(1));
            String vip = bed.vip.getAddress().getHostAddress();
            for (int i = 0; i < 20; i++) assertThat(bed.tb.client(1).exec("redis-cli", "-h", vip, "PING").stdout().strip()).isEqualTo("PONG");
            assertThat(Bed.redisConnections(bed.tb.server(1)) - before).isGreaterThanOrEqualTo(20);

            bed.redis(2);
            assertThat(health(bed.proxy)).containsExactly("s1=true", "s2=true");
            bed.tb.client(1).exec("redis-benchmark", "-h", vip, "-c", "20", "-n", "2000", "-t", "ping", "-q");
            assertThat(Bed.redisConnections(bed.tb.server(2))).as("s2 serves again").isPositive();
        }
    }

    private static List<String> health(Proxy proxy) throws Exception {
        return proxy.backends().stream().map(b -> b.id() + "=" + b.healthy()).toList();
    }

    @Test
    void weightZeroDrainsNewFlowsButKeepsExistingOnes() throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.XDP, Mode.NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            bed.redis(1);
            bed.redis(2);
            List<SocketChannel> onS2 = new ArrayList<>();
            List<SocketChannel> all = new ArrayList<>();
            try {
                for (int i = 0; i < 24; i++) {
                    SocketChannel ch = connect(bed.tb.client(1), bed.vip);
                    all.add(ch);
                    assertThat(ping(ch)).isEqualTo("+PONG\r\n");
                    if (backendOf(bed.proxy, ch, bed.vip).equals("s2")) onS2.add(ch);
                }
                assertThat(onS2).as("flows Maglev gave to s2").isNotEmpty();
                bed.proxy.setWeight("s2", 0);
                long s2Before = Bed.redisConnections(bed.tb.server(2));
                bed.tb.client(1).exec("redis-benchmark", "-h", bed.vip.getAddress().getHostAddress(), "-c", "30", "-n", "3000", "-t", "ping", "-q");
                // Only the INFO query itself (run on s2) is a new connection there.
                assertThat(Bed.redisConnections(bed.tb.server(2))).as("new connections at the drained s2").isEqualTo(s2Before + 1);
                for (SocketChannel ch : onS2) assertThat(ping(ch)).as("an existing flow on s2").isEqualTo("+PONG\r\n");
                assertThat(bed.proxy.backends()).extracting(BackendInfo::weight).containsExactly(1, 0);
            } finally {
                for (SocketChannel ch : all) ch.close();
            }
        }
    }

    @Test
    void metricsOverHttpAndTheControlProtocolFromAClient() throws Exception {
        byte[] key = "a-test-key-of-32-bytes-exactly!!".getBytes(StandardCharsets.US_ASCII);
        try (Bed bed = Bed.start(1, 2, Hook.XDP, Mode.NAT, Algorithm.LEAST_CONNECTIONS, 6379, 6379,
                c -> c.withControl(new InetSocketAddress("10.77.1.1", 7000), key).withMetrics(new InetSocketAddress("10.77.1.1", 9100)))) {
            bed.redis(1);
            bed.redis(2);
            Host client = bed.tb.client(1);
            client.exec("redis-benchmark", "-h", bed.vip.getAddress().getHostAddress(), "-c", "20", "-n", "2000", "-t", "ping", "-q");
            assertThat(Bed.redisConnections(bed.tb.server(1))).isPositive();
            assertThat(Bed.redisConnections(bed.tb.server(2))).isPositive();
            bed.proxy.maintainNow();
            String metrics = client.exec("curl", "-sS", "-f", "--max-time", "10", "http://10.77.1.1:9100/metrics").stdout();
            assertThat(metrics).contains("proxy_vip_packets_total{vip=\"10.77.200.1:6379\"}")
                    .contains("proxy_backend_new_flows_total{backend=\"s2\",vip=\"10.77.200.1:6379\"}")
                    .contains("proxy_backend_healthy{backend=\"s1\"");
            List<BackendInfo> remote = client.namespace().call(() -> {
                try (ControlClient c = ControlClient.connect(new InetSocketAddress("10.77.1.1", 7000), key)) {
                    c.setWeight("s1", 3);
                    return c.backends();
                }
            });
            assertThat(remote).extracting(BackendInfo::id, BackendInfo::weight).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("s1", 3), org.assertj.core.groups.Tuple.tuple("s2", 1));
            assertThat(remote.getFirst().packets()).isPositive();
            bed.proxy.removeBackend("s2");
            assertThat(bed.proxy.scrape()).contains("backend=\"s1\"").doesNotContain("backend=\"s2\"");
            assertThat(bed.proxy.flows(Integer.MAX_VALUE)).extracting(FlowInfo::backendId).doesNotContain("s2");
        }
    }
}
