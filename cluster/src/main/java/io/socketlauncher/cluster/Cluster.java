package io.socketlauncher.cluster;

import io.socketlauncher.bpf.proxy.Flow;
import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.Proxy;
import io.socketlauncher.proxy.ProxyConfig;
import io.socketlauncher.proxy.ProxyConfig.BackendConfig;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.proxy.ProxyConfig.ServiceConfig;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.Peer;
import io.socketlauncher.server.migration.MigrationTimeouts;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The product as a user deploys it, on the testbed: clients, the eBPF proxy on lb serving the service address in
 * NAT mode, and {@link LauncherServer}s s1..sN (backends "s1".."sN" at their own addresses) that know each other as
 * peers. The demo, the migration benchmark and the end-to-end tests all start from here. Closing it closes the
 * servers, then the proxy, then the testbed.
 */
public final class Cluster implements AutoCloseable {
    public static final int SERVICE_PORT = 7000;
    public static final int AGENT_PORT = 7400;
    public static final int CONTROL_PORT = 7390;

    private final Testbed testbed;
    private final Proxy proxy;
    private final InetSocketAddress service;
    private final InetSocketAddress control;
    private final List<LauncherServer> servers;
    private final byte[] key;
    /** Full NAT: the proxy's source address, where the servers see every client come from; null in NAT mode. */
    private final InetAddress proxySource;

    private Cluster(Testbed testbed, Proxy proxy, InetSocketAddress service, InetSocketAddress control,
                    List<LauncherServer> servers, byte[] key, InetAddress proxySource) {
        this.testbed = testbed;
        this.proxy = proxy;
        this.service = service;
        this.control = control;
        this.servers = List.copyOf(servers);
        this.key = key;
        this.proxySource = proxySource;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Testbed testbed() {
        return testbed;
    }

    public Proxy proxy() {
        return proxy;
    }

    /** The address clients connect to: the VIP and the service port. */
    public InetSocketAddress service() {
        return service;
    }

    /** The proxy's control address, reachable from every server. */
    public InetSocketAddress control() {
        return control;
    }

    public byte[] key() {
        return key.clone();
    }

    public List<LauncherServer> servers() {
        return servers;
    }

    /** Server {@code i}, 1-based, whose id is "s" + i. */
    public LauncherServer server(int i) {
        return servers.get(i - 1);
    }

    public LauncherServer server(String id) {
        for (LauncherServer s : servers) if (s.id().equals(id)) return s;
        throw new IllegalArgumentException("no server " + id + " in this cluster");
    }

    /** Client host {@code i}, 1-based. */
    public Host client(int i) {
        return testbed.client(i);
    }

    /** Where the servers see connections from {@code client} come from: the client, or in full NAT the proxy. */
    public InetAddress seenFrom(InetAddress client) {
        return proxySource != null ? proxySource : client;
    }

    /**
     * A connection from {@code client} to the service as the servers see it: the client's address and port, or in full
     * NAT the proxy's source address and the port the proxy chose for it.
     */
    public InetSocketAddress seenAs(InetSocketAddress client) throws IOException {
        if (proxySource == null) return client;
        Flow flow = proxy.flow(new FlowKey(client, service));
        if (flow == null) throw new IllegalStateException("the proxy has no flow " + client + " -> " + service);
        return new InetSocketAddress(proxySource, flow.natPort());
    }

    /** The address of server {@code i}'s migration agent. */
    public InetSocketAddress agentAddress(int i) {
        return new InetSocketAddress(testbed.server(i).address(), AGENT_PORT);
    }

    @Override
    public void close() throws Exception {
        Exception failure = null;
        List<AutoCloseable> order = new ArrayList<>(servers);
        order.add(proxy);
        for (AutoCloseable c : order) {
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        testbed.close();
        if (failure != null) throw failure;
    }

    /** A change to server {@code index}'s (1-based) builder, made with the testbed's addresses at hand. */
    @FunctionalInterface
    public interface ServerCustomizer {
        void customize(Testbed testbed, int index, LauncherServer.Builder builder) throws Exception;
    }

    public static final class Builder {
        /** Longer than the library's defaults: a shared 2-core machine stalls for seconds now and then. */
        public static final MigrationTimeouts TESTBED_TIMEOUTS = new MigrationTimeouts(Duration.ofSeconds(5),
                Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(60),
                Duration.ofNanos(100_000), Duration.ofMillis(10), Duration.ofSeconds(2));

        private int clients = 1;
        private int servers = 2;
        private Hook hook = Hook.AUTO;
        private Algorithm algorithm = Algorithm.MAGLEV;
        private MigrationTimeouts timeouts = TESTBED_TIMEOUTS;
        private byte[] key = "socket-launcher-testbed-key-32by".getBytes(StandardCharsets.US_ASCII);
        private ServerCustomizer customizer = (tb, i, b) -> {};
        private Integer warmChannels;
        private boolean ipv6;
        private boolean fullNat;

        private Builder() {
        }

        public Builder clients(int n) {
            if (n < 1) throw new IllegalArgumentException("a cluster needs at least one client host: " + n);
            this.clients = n;
            return this;
        }

        public Builder servers(int n) {
            if (n < 2) throw new IllegalArgumentException("migration needs at least two servers: " + n);
            this.servers = n;
            return this;
        }

        public Builder hook(Hook hook) {
            this.hook = Objects.requireNonNull(hook, "hook");
            return this;
        }

        public Builder algorithm(Algorithm algorithm) {
            this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
            return this;
        }

        public Builder timeouts(MigrationTimeouts timeouts) {
            this.timeouts = Objects.requireNonNull(timeouts, "timeouts");
            return this;
        }

        /** The control protocol's shared key (at least 32 bytes). */
        public Builder key(byte[] key) {
            if (key.length < 32) throw new IllegalArgumentException("the control key needs at least 32 bytes, not " + key.length);
            this.key = key.clone();
            return this;
        }

        /**
         * Channels each server keeps open ahead of need to each peer and to the proxy (the library's default unless
         * set); they are open when {@link #build} returns.
         */
        public Builder warmChannels(int perPeer) {
            if (perPeer < 0) throw new IllegalArgumentException("warmChannels must be 0 or more: " + perPeer);
            this.warmChannels = perPeer;
            return this;
        }

        /**
         * Serves the service over IPv6: the VIP, the backends and the servers' listening sockets take the testbed's
         * IPv6 addresses (clients then connect to {@link Cluster#service()} over IPv6, and the proxy's health checks
         * probe the backends there). The control protocol and the servers' migration agents stay on IPv4.
         */
        public Builder ipv6() {
            this.ipv6 = true;
            return this;
        }

        /**
         * Serves the service in full NAT: the servers see every client as the proxy's source address
         * ({@link Testbed#proxySourceAddress}, the same towards every server) and one of its ports.
         */
        public Builder fullNat() {
            this.fullNat = true;
            return this;
        }

        /** Changes each server's builder after the cluster configured it, before it is built. */
        public Builder customize(ServerCustomizer customizer) {
            this.customizer = Objects.requireNonNull(customizer, "customizer");
            return this;
        }

        private InetAddress serving(Host server) {
            return ipv6 ? server.address6() : server.address();
        }

        /** Creates the testbed, starts the servers and the proxy; on failure nothing stays. */
        public Cluster build() throws Exception {
            Testbed tb = Testbed.builder().clients(clients).servers(servers).build();
            List<AutoCloseable> opened = new ArrayList<>();
            try {
                // XDP's redirect keeps no partial checksum: the senders compute full ones.
                if (hook == Hook.XDP) {
                    for (Host h : tb.hosts()) if (h != tb.lb()) h.exec("ethtool", "-K", h.linkToLb(), "tx", "off");
                }
                InetSocketAddress service = new InetSocketAddress(ipv6 ? tb.serviceAddress6() : tb.serviceAddress(), SERVICE_PORT);
                InetSocketAddress control = new InetSocketAddress(tb.server(1).gateway(), CONTROL_PORT);
                List<BackendConfig> backends = new ArrayList<>();
                List<LauncherServer> started = new ArrayList<>();
                InetAddress proxySource = !fullNat ? null : ipv6 ? tb.proxySourceAddress6() : tb.proxySourceAddress();
                for (int i = 1; i <= servers; i++) {
                    backends.add(new BackendConfig("s" + i, new InetSocketAddress(serving(tb.server(i)), SERVICE_PORT), 1));
                }
                for (int i = 1; i <= servers; i++) {
                    LauncherServer.Builder b = LauncherServer.builder()
                            .id("s" + i)
                            .namespace(tb.server(i).namespace())
                            .listen(new InetSocketAddress(serving(tb.server(i)), SERVICE_PORT))
                            .service(service)
                            .proxy(control)
                            .key(key)
                            .timeouts(timeouts)
                            .agent(new InetSocketAddress(tb.server(i).address(), AGENT_PORT));
                    for (int j = 1; j <= servers; j++) {
                        if (j != i) b.peer(new Peer("s" + j, new InetSocketAddress(tb.server(j).address(), AGENT_PORT)));
                    }
                    if (warmChannels != null) b.warmChannels(warmChannels);
                    customizer.customize(tb, i, b);
                    LauncherServer s = b.build();
                    opened.add(s);
                    started.add(s);
                }
                List<String> interfaces = new ArrayList<>();
                for (Host h : tb.hosts()) if (h != tb.lb()) interfaces.add(h.lbSideInterface());
                Proxy proxy = Proxy.start(ProxyConfig.of(tb.lb().name(), interfaces,
                        List.of(fullNat ? new ServiceConfig(service, Mode.FULL_NAT, algorithm, backends, proxySource)
                                : new ServiceConfig(service, Mode.NAT, algorithm, backends))).withHook(hook).withControl(control, key));
                opened.add(proxy);
                if (hook == Hook.XDP) {
                    // A redirect into a veth needs an XDP program on the far end to be delivered.
                    for (Host h : tb.hosts()) if (h != tb.lb()) proxy.attachPeerPass(h.namespace(), h.linkToLb());
                }
                proxy.checkHealthNow();
                // Everyone is up only now: the servers' own first attempts found later peers and the proxy missing.
                for (LauncherServer s : started) s.openChannelsAhead();
                return new Cluster(tb, proxy, service, control, started, key, proxySource);
            } catch (Exception e) {
                for (int i = opened.size() - 1; i >= 0; i--) {
                    try {
                        opened.get(i).close();
                    } catch (Exception suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                tb.close();
                throw e;
            }
        }
    }
}
