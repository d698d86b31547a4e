package io.socketlauncher.proxy;

import io.socketlauncher.proxy.ProxyConfig.BackendConfig;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.proxy.ProxyConfig.ServiceConfig;
import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** A testbed with the proxy in front of its servers; closes both, proxy first. */
final class Bed implements AutoCloseable {
    final Testbed tb;
    final Proxy proxy;
    final InetSocketAddress vip;

    private Bed(Testbed tb, Proxy proxy, InetSocketAddress vip) {
        this.tb = tb;
        this.proxy = proxy;
        this.vip = vip;
    }

    /** Backend i is "s{i}" at server i's address and {@code backendPort}. */
    static Bed start(int clients, int servers, Hook hook, Mode mode, Algorithm algorithm, int vipPort, int backendPort,
                     UnaryOperator<ProxyConfig> tweak) throws Exception {
        Testbed tb = Testbed.builder().clients(clients).servers(servers).build();
        try {
            List<String> interfaces = new ArrayList<>();
            for (Host h : tb.clients()) interfaces.add(h.lbSideInterface());
            for (Host h : tb.servers()) interfaces.add(h.lbSideInterface());
            // Redirected XDP frames carry no checksum offload state: the senders must compute full checksums.
            // TC copes with partial checksums, so its tests keep the offloads (and GSO) on.
            if (hook == Hook.XDP) {
                for (Host h : tb.clients()) h.exec("ethtool", "-K", h.linkToLb(), "tx", "off");
                for (Host h : tb.servers()) h.exec("ethtool", "-K", h.linkToLb(), "tx", "off");
            }
            InetSocketAddress vip = new InetSocketAddress(tb.serviceAddress(), vipPort);
            List<BackendConfig> backends = new ArrayList<>();
            for (int i = 1; i <= servers; i++) backends.add(new BackendConfig("s" + i, new InetSocketAddress(tb.server(i).address(), backendPort), 1));
            ProxyConfig config = ProxyConfig.of(tb.lb().name(), interfaces, List.of(new ServiceConfig(vip, mode, algorithm, backends)))
                    .withHook(hook);
            if (tweak != null) config = tweak.apply(config);
            Proxy proxy = Proxy.start(config);
            try {
                if (proxy.hooks().containsValue(Hook.XDP)) {
                    for (Host h : tb.clients()) proxy.attachPeerPass(h.namespace(), h.linkToLb());
                    for (Host h : tb.servers()) proxy.attachPeerPass(h.namespace(), h.linkToLb());
                }
                return new Bed(tb, proxy, vip);
            } catch (Exception e) {
                proxy.close();
                throw e;
            }
        } catch (Exception e) {
            tb.close();
            throw e;
        }
    }

    /** Starts redis-server on server i (port 6379) and waits until it answers. */
    Process redis(int server) throws Exception {
        Host h = tb.server(server);
        Process p = h.start("redis-server", "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--maxclients", "10000");
        awaitListening(h, 6379);
        proxy.checkHealthNow();
        return p;
    }

    static void awaitListening(Host h, int port) throws Exception {
        for (int i = 0; i < 200; i++) {
            if (h.execAllowingFailure("sh", "-c", "ss -Hltn 'sport = :" + port + "' | grep -q LISTEN").exitCode() == 0) return;
            Thread.sleep(50);
        }
        throw new IllegalStateException("nothing listens on port " + port + " in " + h.name());
    }

    static long redisConnections(Host h) throws IOException {
        String info = h.exec("redis-cli", "-p", "6379", "INFO", "stats").stdout();
        for (String line : info.split("\r?\n")) {
            if (line.startsWith("total_connections_received:")) return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
        }
        throw new IllegalStateException("no total_connections_received in " + info);
    }

    /** tcpdump on a host, returned once it listens; its output is read after it is stopped. */
    static Process capture(Host h, String filter) throws Exception {
        Process p = h.startWithOutput("tcpdump", "-i", h.linkToLb(), "-nn", "-vv", "-l", "-U", filter);
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream()));
        String line;
        while ((line = err.readLine()) != null) {
            if (line.contains("listening on")) return p;
        }
        throw new IllegalStateException("tcpdump did not start in " + h.name());
    }

    static String stopCapture(Process p) throws Exception {
        Thread.sleep(300);
        return stop(p);
    }

    /** SIGTERM, then everything it wrote to stdout. Process.destroy() would close the streams unread. */
    static String stop(Process p) throws Exception {
        p.toHandle().destroy();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }

    @Override
    public void close() {
        try {
            proxy.close();
        } finally {
            tb.close();
        }
    }
}
