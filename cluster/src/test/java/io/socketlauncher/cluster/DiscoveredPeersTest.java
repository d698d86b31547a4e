package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.Proxy;
import io.socketlauncher.proxy.ProxyConfig;
import io.socketlauncher.proxy.ProxyConfig.BackendConfig;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import io.socketlauncher.proxy.ProxyConfig.ServiceConfig;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Servers that know no peer but join through the proxy (discovery only, no configured peers) move a live
 * connection to each other: the proxy that re-points the flow is the one that introduced them.
 */
class DiscoveredPeersTest {
    private static final byte[] KEY = "socket-launcher-testbed-key-32by".getBytes(StandardCharsets.US_ASCII);

    @Test
    void aConnectionMovesToAPeerLearnedFromTheProxy() throws Exception {
        try (Testbed tb = Testbed.builder().clients(1).servers(2).build()) {
            InetSocketAddress service = new InetSocketAddress(tb.serviceAddress(), Cluster.SERVICE_PORT);
            InetSocketAddress control = new InetSocketAddress(tb.server(1).gateway(), Cluster.CONTROL_PORT);
            List<AutoCloseable> opened = new ArrayList<>();
            try {
                List<BackendConfig> backends = new ArrayList<>();
                List<String> interfaces = new ArrayList<>();
                for (int i = 1; i <= 2; i++) {
                    backends.add(new BackendConfig("s" + i, new InetSocketAddress(tb.server(i).address(), Cluster.SERVICE_PORT), 1));
                }
                for (Host h : tb.hosts()) if (h != tb.lb()) interfaces.add(h.lbSideInterface());
                Proxy proxy = Proxy.start(ProxyConfig.of(tb.lb().name(), interfaces,
                        List.of(new ServiceConfig(service, Mode.NAT, Algorithm.MAGLEV, backends))).withHook(Hook.TC).withControl(control, KEY));
                opened.add(proxy);
                proxy.checkHealthNow();
                LauncherServer[] servers = new LauncherServer[2];
                for (int i = 1; i <= 2; i++) {
                    servers[i - 1] = LauncherServer.builder().id("s" + i).namespace(tb.server(i).namespace())
                            .listen(new InetSocketAddress(tb.server(i).address(), Cluster.SERVICE_PORT)).service(service)
                            .proxy(control).key(KEY).timeouts(Cluster.Builder.TESTBED_TIMEOUTS)
                            .agent(new InetSocketAddress(tb.server(i).address(), Cluster.AGENT_PORT)).discover().build();
                    opened.add(servers[i - 1]);
                }
                for (LauncherServer s : servers) s.awaitJoined(Duration.ofSeconds(30));
                for (LauncherServer s : servers) {
                    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                    while (s.peers().size() < 1 && System.nanoTime() < deadline) Thread.sleep(20);
                }
                assertThat(servers[0].peers().keySet()).isEqualTo(Set.of("s2"));
                assertThat(servers[1].peers().keySet()).isEqualTo(Set.of("s1"));
                // Channels to a learned peer are opened ahead of need as it joins (the library's default: 8 per peer).
                for (int i = 0; i < 2; i++) {
                    Map<String, Integer> expected = Map.of(servers[1 - i].id(), 8);
                    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                    while (!servers[i].peerChannels().equals(expected) && System.nanoTime() < deadline) Thread.sleep(20);
                    assertThat(servers[i].peerChannels()).as(servers[i].id() + "'s channels").isEqualTo(expected);
                }

                try (Socket client = tb.client(1).namespace().call(() -> new Socket(service.getAddress(), service.getPort()))) {
                    client.setSoTimeout(30_000);
                    BufferedReader in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.US_ASCII));
                    PrintWriter out = new PrintWriter(client.getOutputStream(), true, StandardCharsets.US_ASCII);
                    out.println("hello");
                    Connection c = null;
                    LauncherServer holder = null;
                    for (long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos(); c == null && System.nanoTime() < deadline; ) {
                        for (LauncherServer s : servers) {
                            c = s.accept(Duration.ofMillis(50));
                            if (c != null) {
                                holder = s;
                                break;
                            }
                        }
                    }
                    assertThat(c).as("the connection accepted by s1 or s2").isNotNull();
                    LauncherServer other = holder == servers[0] ? servers[1] : servers[0];
                    // The request stays unread: it travels with the connection and the peer answers it.
                    holder.transfer(c, other.id()).get();
                    Connection moved = other.accept(Duration.ofSeconds(10));
                    assertThat(moved).isNotNull();
                    assertThat(moved.arrivedFrom()).contains(holder.id());
                    byte[] line = moved.inputStream().readNBytes(6);
                    assertThat(new String(line, StandardCharsets.US_ASCII)).isEqualTo("hello\n");
                    moved.outputStream().write((other.id() + " got it\n").getBytes(StandardCharsets.US_ASCII));
                    assertThat(in.readLine()).isEqualTo(other.id() + " got it");
                    moved.close();
                }
                // A peer that leaves takes its channels with it.
                servers[1].close();
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (servers[0].peerChannels().containsKey("s2") && System.nanoTime() < deadline) Thread.sleep(20);
                assertThat(servers[0].peerChannels()).as("s1's channels after s2 left").isEmpty();
            } finally {
                for (int i = opened.size() - 1; i >= 0; i--) opened.get(i).close();
            }
        }
    }
}
