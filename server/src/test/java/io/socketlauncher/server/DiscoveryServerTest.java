package io.socketlauncher.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.proxy.control.BackendInfo;
import io.socketlauncher.proxy.control.ControlServer;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.proxy.control.ProxyOperations;
import io.socketlauncher.proxy.control.ServerInfo;
import io.socketlauncher.testbed.Testbed;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Servers built with {@code discover()} learn their peers from the proxy's control server: three join on the
 * testbed, one leaves, and {@link LauncherServer#peers()} follows on the others.
 */
class DiscoveryServerTest {
    private static final byte[] KEY = "socket-launcher-testbed-key-32by".getBytes(StandardCharsets.US_ASCII);
    private static final Duration WAIT = Duration.ofSeconds(30);

    /** Discovery needs no proxy operations; the servers here never migrate. */
    private static final class NoOperations implements ProxyOperations {
        @Override
        public List<FlowInfo> flows(int limit) {
            return List.of();
        }

        @Override
        public List<BackendInfo> backends() {
            return List.of();
        }

        @Override
        public FlowInfo redirect(FlowKey flow, String backendId) {
            throw new IllegalArgumentException("no flows here");
        }

        @Override
        public void addBackend(InetSocketAddress vip, String backendId, InetSocketAddress address, int weight) {
            throw new IllegalArgumentException("no backends here");
        }

        @Override
        public void removeBackend(String backendId) {
            throw new IllegalArgumentException("no backends here");
        }

        @Override
        public void setWeight(String backendId, int weight) {
            throw new IllegalArgumentException("no backends here");
        }
    }

    @Test
    void threeServersJoinAndOneLeaves() throws Exception {
        try (Testbed tb = Testbed.builder().clients(1).servers(3).build()) {
            InetSocketAddress control = new InetSocketAddress(tb.server(1).gateway(), 7390);
            try (ControlServer proxy = tb.lb().namespace().call(() -> ControlServer.start(control, KEY, new NoOperations()))) {
                List<LauncherServer> servers = new ArrayList<>();
                try {
                    for (int i = 1; i <= 3; i++) {
                        LauncherServer s = LauncherServer.builder().id("s" + i).namespace(tb.server(i).namespace())
                                .listen(new InetSocketAddress(tb.server(i).address(), 7000))
                                .service(new InetSocketAddress(tb.serviceAddress(), 7000)).proxy(control).key(KEY)
                                .agent(new InetSocketAddress(tb.server(i).address(), 7400)).discover().build();
                        servers.add(s);
                        s.awaitJoined(WAIT);
                    }
                    LauncherServer s1 = servers.get(0), s2 = servers.get(1), s3 = servers.get(2);
                    awaitPeers(s1, Set.of("s2", "s3"));
                    awaitPeers(s2, Set.of("s1", "s3"));
                    awaitPeers(s3, Set.of("s1", "s2"));
                    assertThat(s1.peers().get("s3")).isEqualTo(new Peer("s3", new InetSocketAddress(tb.server(3).address(), 7400)));
                    assertThat(proxy.servers()).extracting(ServerInfo::id).containsExactly("s1", "s2", "s3");

                    s3.close();
                    awaitPeers(s1, Set.of("s2"));
                    awaitPeers(s2, Set.of("s1"));
                    assertThat(proxy.servers()).extracting(ServerInfo::id).containsExactly("s1", "s2");
                    assertThat(s1.transfer(new Connection(-1, null, null, new byte[0], null), "s3"))
                            .as("a peer that left is no transfer target").isCompletedExceptionally();
                } finally {
                    for (LauncherServer s : servers) s.close();
                }
            }
        }
    }

    private static void awaitPeers(LauncherServer server, Set<String> expected) throws InterruptedException {
        Supplier<Set<String>> ids = () -> server.peers().keySet();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!ids.get().equals(expected) && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(ids.get()).as("peers of " + server.id()).isEqualTo(expected);
    }
}
