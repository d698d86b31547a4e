package io.socketlauncher.server;

import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.Proxy;
import io.socketlauncher.proxy.ProxyConfig;
import io.socketlauncher.proxy.ProxyConfig.BackendConfig;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.proxy.ProxyConfig.ServiceConfig;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import io.socketlauncher.proxy.control.ControlServer;
import io.socketlauncher.server.migration.MigrationTimeouts;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The product's topology on the testbed: a client, the XDP proxy in NAT mode on lb serving the VIP, and two
 * {@link LauncherServer}s s1 and s2 (backends "s1", "s2" at their own addresses) that know each other as peers.
 * Closes everything, servers first.
 */
final class MigrationBed implements AutoCloseable {
    static final int PORT = 7000, AGENT_PORT = 7400, FAKE_AGENT_PORT = 7401;
    /** A peer of s1 only: s2's real agent under an id the proxy has no backend for. */
    static final String GHOST = "ghost";
    /** A peer of s1 only: a backend at the proxy (s2's address, weight 0) whose agent is a test's {@link FakeTarget}. */
    static final String FAKE = "s3";
    /** Longer than the defaults: a 2-core machine shared with other suites stalls for seconds now and then. */
    static final MigrationTimeouts TIMEOUTS = new MigrationTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5),
            Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(60), Duration.ofNanos(100_000),
            Duration.ofMillis(10), Duration.ofSeconds(2));
    static final byte[] KEY = "socket-launcher-test-key-32bytes".getBytes(StandardCharsets.US_ASCII);

    final Testbed tb;
    final Proxy proxy;
    final InetSocketAddress vip;
    final LauncherServer s1, s2;
    /** s1 talks to the proxy through this (the other servers directly): a test can make it lose a REDIRECTED. */
    final LossyControl s1Control;
    private final ControlServer lossyServer;

    private MigrationBed(Testbed tb, Proxy proxy, InetSocketAddress vip, LauncherServer s1, LauncherServer s2,
                         LossyControl s1Control, ControlServer lossyServer) {
        this.tb = tb;
        this.proxy = proxy;
        this.vip = vip;
        this.s1 = s1;
        this.s2 = s2;
        this.s1Control = s1Control;
        this.lossyServer = lossyServer;
    }

    static MigrationBed start() throws Exception {
        Testbed tb = Testbed.builder().clients(1).servers(2).build();
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            // XDP redirects lose partial checksums: the senders compute full ones.
            for (Host h : tb.hosts()) {
                if (h != tb.lb()) h.exec("ethtool", "-K", h.linkToLb(), "tx", "off");
            }
            InetSocketAddress vip = new InetSocketAddress(tb.serviceAddress(), PORT);
            InetSocketAddress control = new InetSocketAddress(tb.server(1).gateway(), 7390);
            List<BackendConfig> backends = List.of(
                    new BackendConfig("s1", new InetSocketAddress(tb.server(1).address(), PORT), 1),
                    new BackendConfig("s2", new InetSocketAddress(tb.server(2).address(), PORT), 1));
            InetSocketAddress lossyAddress = new InetSocketAddress(tb.server(1).gateway(), 7391);
            LauncherServer s1 = server(tb, 1, vip, lossyAddress);
            opened.add(s1);
            LauncherServer s2 = server(tb, 2, vip, control);
            opened.add(s2);
            List<String> interfaces = new ArrayList<>();
            for (Host h : tb.hosts()) if (h != tb.lb()) interfaces.add(h.lbSideInterface());
            Proxy proxy = Proxy.start(ProxyConfig.of(tb.lb().name(), interfaces,
                    List.of(new ServiceConfig(vip, Mode.NAT, Algorithm.MAGLEV, backends))).withHook(Hook.XDP).withControl(control, KEY));
            opened.add(proxy);
            for (Host h : tb.hosts()) if (h != tb.lb()) proxy.attachPeerPass(h.namespace(), h.linkToLb());
            proxy.addBackend(vip, FAKE, new InetSocketAddress(tb.server(2).address(), PORT), 0);
            proxy.checkHealthNow();
            // Longer than the servers' redirect timeout: the asking server gives up first.
            LossyControl lossy = new LossyControl(proxy, TIMEOUTS.redirect().toMillis() + 2_000);
            ServerSocketChannel bound = tb.lb().namespace().call(() -> ServerSocketChannel.open().bind(lossyAddress));
            ControlServer lossyServer = ControlServer.start(bound, KEY, lossy);
            opened.add(lossyServer);
            return new MigrationBed(tb, proxy, vip, s1, s2, lossy, lossyServer);
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

    private static LauncherServer server(Testbed tb, int i, InetSocketAddress vip, InetSocketAddress control) throws Exception {
        int other = 3 - i;
        LauncherServer.Builder b = LauncherServer.builder();
        if (i == 1) {
            b.peer(new Peer(GHOST, new InetSocketAddress(tb.server(2).address(), AGENT_PORT)));
            b.peer(new Peer(FAKE, new InetSocketAddress(tb.server(2).address(), FAKE_AGENT_PORT)));
        }
        return b
                .id("s" + i)
                .namespace(tb.server(i).namespace())
                .listen(new InetSocketAddress(tb.server(i).address(), PORT))
                .service(vip)
                .proxy(control)
                .key(KEY)
                .timeouts(TIMEOUTS)
                .agent(new InetSocketAddress(tb.server(i).address(), AGENT_PORT))
                .peer(new Peer("s" + other, new InetSocketAddress(tb.server(other).address(), AGENT_PORT)))
                .build();
    }

    LauncherServer server(String id) {
        return id.equals("s1") ? s1 : s2;
    }

    Host client() {
        return tb.client(1);
    }

    @Override
    public void close() throws Exception {
        Exception failure = null;
        for (AutoCloseable c : new AutoCloseable[] {s1, s2, lossyServer, proxy}) {
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        tb.close();
        if (failure != null) throw failure;
    }
}
