package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Servers joining through the control server (HELLO, PEER_LIST, PEER_JOIN, PEER_LEAVE) over loopback sockets. */
class DiscoveryTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes();
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private ControlServer server;
    private final List<DiscoveryClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = ControlServer.builder().key(KEY).operations(new InMemoryOperations()).frameTimeout(Duration.ofSeconds(2))
                .start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    @AfterEach
    void stop() throws IOException {
        for (DiscoveryClient c : clients) c.close();
        server.close();
    }

    private static ServerInfo info(String id, int port) {
        return new ServerInfo(id, new InetSocketAddress(InetAddress.ofLiteral("10.77.101.2"), port));
    }

    /** What one server knows of its peers, updated by its discovery client; every event also lands in a queue. */
    private static final class View implements DiscoveryClient.Listener {
        final Map<String, ServerInfo> peers = new TreeMap<>();
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();

        @Override
        public synchronized void peers(List<ServerInfo> servers) {
            peers.clear();
            servers.forEach(s -> peers.put(s.id(), s));
            events.add("list " + peers.keySet());
        }

        @Override
        public synchronized void joined(ServerInfo server) {
            peers.put(server.id(), server);
            events.add("join " + server.id());
        }

        @Override
        public synchronized void left(String id) {
            peers.remove(id);
            events.add("leave " + id);
        }

        synchronized Map<String, ServerInfo> snapshot() {
            return new TreeMap<>(peers);
        }

        String next() throws InterruptedException {
            String e = events.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(e).as("a discovery event within " + TIMEOUT).isNotNull();
            return e;
        }
    }

    private DiscoveryClient join(ServerInfo self, View view) throws Exception {
        DiscoveryClient c = DiscoveryClient.start(server.address(), KEY, self, view, Thread.ofPlatform().factory(), TIMEOUT,
                Duration.ofSeconds(30), Duration.ofMillis(200));
        clients.add(c);
        c.awaitJoined(TIMEOUT);
        return c;
    }

    @Test
    void threeServersJoinAndOneLeaves() throws Exception {
        View v1 = new View(), v2 = new View(), v3 = new View();
        ServerInfo s1 = info("s1", 7401), s2 = info("s2", 7402), s3 = info("s3", 7403);
        join(s1, v1);
        assertThat(v1.next()).isEqualTo("list []");
        join(s2, v2);
        assertThat(v2.next()).isEqualTo("list [s1]");
        assertThat(v1.next()).isEqualTo("join s2");
        DiscoveryClient c3 = join(s3, v3);
        assertThat(v3.next()).isEqualTo("list [s1, s2]");
        assertThat(v1.next()).isEqualTo("join s3");
        assertThat(v2.next()).isEqualTo("join s3");
        assertThat(v1.snapshot()).containsExactly(Map.entry("s2", s2), Map.entry("s3", s3));
        assertThat(v3.snapshot()).containsExactly(Map.entry("s1", s1), Map.entry("s2", s2));
        assertThat(server.servers()).containsExactly(s1, s2, s3);

        c3.close();
        assertThat(v1.next()).isEqualTo("leave s3");
        assertThat(v2.next()).isEqualTo("leave s3");
        assertThat(v1.snapshot()).containsOnlyKeys("s2");
        assertThat(v2.snapshot()).containsOnlyKeys("s1");
        assertThat(server.servers()).containsExactly(s1, s2);
        assertThat(v1.events).isEmpty();
        assertThat(v2.events).isEmpty();
    }

    @Test
    void aDuplicateIdIsRefusedUntilTheFirstLeaves() throws Exception {
        View first = new View();
        DiscoveryClient c1 = join(info("s1", 7401), first);
        View second = new View();
        DiscoveryClient c2 = DiscoveryClient.start(server.address(), KEY, info("s1", 7999), second, Thread.ofPlatform().factory(),
                TIMEOUT, Duration.ofSeconds(30), Duration.ofMillis(200));
        clients.add(c2);
        assertThatThrownBy(() -> c2.awaitJoined(Duration.ofSeconds(1))).isInstanceOf(IOException.class)
                .hasMessageContaining("did not join").hasMessageContaining("server id s1 is already joined");
        c1.close();
        // The second keeps retrying and gets in once the first has left.
        assertThat(second.next()).isEqualTo("list []");
        assertThat(server.servers()).containsExactly(info("s1", 7999));
    }

    @Test
    void aListLongerThanOneFrameArrivesWhole() throws Exception {
        int count = Wire.MAX_PEERS_PER_MESSAGE + 7;
        List<RawPeer> raw = new ArrayList<>();
        try (ControlServer big = ControlServer.builder().key(KEY).operations(new InMemoryOperations())
                .maxConnections(count + 10).start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            try {
                for (int i = 0; i < count; i++) {
                    RawPeer p = new RawPeer(big.address()).handshake(KEY);
                    raw.add(p);
                    p.send(p.frame(MessageType.HELLO.code(), 1, DiscoveryMessages.hello(info("r" + i, 10000 + i))));
                    int frames = 0;
                    for (boolean more = true; more; frames++) {
                        RawPeer.Received r = p.receive();
                        assertThat(r.type()).isEqualTo(MessageType.PEER_LIST.code());
                        assertThat(r.requestId()).isEqualTo(1);
                        more = DiscoveryMessages.decodePeerList(r.payload()).more();
                    }
                    assertThat(frames).isEqualTo(i <= Wire.MAX_PEERS_PER_MESSAGE ? 1 : 2);
                }
                View view = new View();
                DiscoveryClient c = DiscoveryClient.start(big.address(), KEY, info("last", 7400), view,
                        Thread.ofPlatform().factory(), TIMEOUT, Duration.ofSeconds(30), Duration.ofMillis(200));
                try (c) {
                    c.awaitJoined(TIMEOUT);
                    assertThat(view.next()).startsWith("list [");
                    assertThat(view.snapshot()).hasSize(count).containsKeys("r0", "r" + (count - 1));
                }
            } finally {
                for (RawPeer p : raw) p.close();
            }
        }
    }

    @Test
    void aMemberRejoinsWhenTheProxyComesBack() throws Exception {
        InetSocketAddress address = server.address();
        View view = new View();
        join(info("s1", 7401), view);
        assertThat(view.next()).isEqualTo("list []");
        server.close();
        try (ControlServer restarted = ControlServer.builder().key(KEY).operations(new InMemoryOperations()).start(address)) {
            server = restarted;
            try (RawPeer other = new RawPeer(address).handshake(KEY)) {
                other.send(other.frame(MessageType.HELLO.code(), 1, DiscoveryMessages.hello(info("s2", 7402))));
                // s1 may have rejoined before s2: then s2 sees it listed, else s1 sees s2 listed.
                assertThat(other.receive().type()).isEqualTo(MessageType.PEER_LIST.code());
                String rejoined = view.next();
                if (rejoined.equals("list []")) assertThat(view.next()).isEqualTo("join s2");
                else assertThat(rejoined).isEqualTo("list [s2]");
                assertThat(view.snapshot()).containsOnlyKeys("s2");
                assertThat(restarted.servers()).extracting(ServerInfo::id).containsExactlyInAnyOrder("s1", "s2");
            }
        }
    }

    /** A proxy played by the test on a loopback port, one accepted connection at a time, for server s1's client. */
    private final class ScriptedProxy implements AutoCloseable {
        private final ServerSocket listener = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());

        ScriptedProxy() throws IOException {
            listener.setSoTimeout((int) TIMEOUT.toMillis());
        }

        DiscoveryClient join(View view, Duration heartbeat) {
            DiscoveryClient c = DiscoveryClient.start((InetSocketAddress) listener.getLocalSocketAddress(), KEY, info("s1", 7401),
                    view, Thread.ofPlatform().factory(), TIMEOUT, heartbeat, Duration.ofMillis(200));
            clients.add(c);
            return c;
        }

        /** The client's next connection, past the handshake. */
        Connection accept() throws IOException {
            Socket socket = listener.accept();
            ControlChannel channel = ControlChannel.server(socket, TIMEOUT, TIMEOUT);
            channel.acceptHandshake(KEY);
            return new Connection(socket, channel);
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }

    private record Connection(Socket socket, ControlChannel channel) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void aSilentProxyIsPingedAndGivenUpWhenItStopsAnswering() throws Exception {
        try (ScriptedProxy fake = new ScriptedProxy()) {
            DiscoveryClient c = fake.join(new View(), Duration.ofSeconds(1));
            try (Connection first = fake.accept()) {
                ControlChannel proxy = first.channel();
                Frame hello = proxy.receive();
                assertThat(hello.messageType()).isEqualTo(MessageType.HELLO);
                assertThat(DiscoveryMessages.decodeHello(hello.payload())).isEqualTo(info("s1", 7401));
                proxy.send(MessageType.PEER_LIST, hello.requestId(), DiscoveryMessages.peerList(false, List.of()));
                c.awaitJoined(TIMEOUT);
                Frame ping = proxy.receive();
                assertThat(ping.messageType()).as("a PING after the heartbeat interval of silence").isEqualTo(MessageType.PING);
                proxy.send(MessageType.PONG, ping.requestId(), new byte[0]);
                // No PONG from now on: the client pings a few times more, then gives the connection up ...
                int pings = 0;
                try {
                    while (true) {
                        assertThat(proxy.receive().messageType()).isEqualTo(MessageType.PING);
                        pings++;
                    }
                } catch (EOFException closed) {
                    assertThat(pings).isEqualTo(DiscoveryClient.UNANSWERED_PINGS);
                }
            }
            // ... and joins again on a new one.
            try (Connection second = fake.accept()) {
                assertThat(second.channel().receive().messageType()).isEqualTo(MessageType.HELLO);
            }
        }
    }

    @Test
    void aProxyAnnouncingMoreServersThanTheCapIsGivenUp() throws Exception {
        try (ScriptedProxy fake = new ScriptedProxy()) {
            View view = new View();
            DiscoveryClient c = fake.join(view, Duration.ofSeconds(30));
            try (Connection first = fake.accept()) {
                ControlChannel proxy = first.channel();
                Frame hello = proxy.receive();
                List<ServerInfo> atTheCap = new ArrayList<>();
                for (int i = 0; i < DiscoveryClient.MAX_PEERS; i++) atTheCap.add(info("p" + i, 7402));
                for (byte[] part : DiscoveryMessages.peerListFrames(atTheCap)) {
                    proxy.send(MessageType.PEER_LIST, hello.requestId(), part);
                }
                c.awaitJoined(TIMEOUT);
                assertThat(view.next()).startsWith("list [");
                proxy.send(MessageType.PEER_LEAVE, 0, DiscoveryMessages.peerLeave("p0"));
                proxy.send(MessageType.PEER_JOIN, 0, DiscoveryMessages.peerJoin(info("p0", 7402)));
                proxy.send(MessageType.PEER_JOIN, 0, DiscoveryMessages.peerJoin(info("p1", 7402)));
                assertThat(view.next()).isEqualTo("leave p0");
                assertThat(view.next()).as("back at the cap, and one known again: both taken").isEqualTo("join p0");
                assertThat(view.next()).isEqualTo("join p1");
                proxy.send(MessageType.PEER_JOIN, 0, DiscoveryMessages.peerJoin(info("one-too-many", 7402)));
                assertThatThrownBy(proxy::receive).as("the client gives the connection up").isInstanceOf(EOFException.class);
            }
            assertThat(view.snapshot()).hasSize(DiscoveryClient.MAX_PEERS).doesNotContainKey("one-too-many");
            try (Connection second = fake.accept()) {
                ControlChannel proxy = second.channel();
                Frame hello = proxy.receive();
                assertThat(hello.messageType()).as("and joins again").isEqualTo(MessageType.HELLO);
                List<ServerInfo> pastTheCap = new ArrayList<>();
                for (int i = 0; i <= DiscoveryClient.MAX_PEERS; i++) pastTheCap.add(info("q" + i, 7402));
                for (byte[] part : DiscoveryMessages.peerListFrames(pastTheCap)) {
                    proxy.send(MessageType.PEER_LIST, hello.requestId(), part);
                }
                assertThatThrownBy(proxy::receive).as("a list past the cap is given up too").isInstanceOf(EOFException.class);
            }
            assertThat(view.snapshot()).as("nothing of that list was believed").doesNotContainKey("q0");
            try (Connection third = fake.accept()) {
                assertThat(third.channel().receive().messageType()).isEqualTo(MessageType.HELLO);
            }
        }
    }

    @Test
    void anOversizedIdIsMalformedAndCloses() throws Exception {
        try (RawPeer p = new RawPeer(server.address()).handshake(KEY)) {
            byte[] id = "x".repeat(65).getBytes();
            ByteBuffer hello = ByteBuffer.allocate(1 + id.length + 7).put((byte) id.length).put(id)
                    .put((byte) 4).put(new byte[] {10, 77, 101, 2}).putShort((short) 7400);
            p.send(p.frame(MessageType.HELLO.code(), 1, hello.array()));
            p.expectErrorAndClose(ErrorCode.MALFORMED, "HELLO payload: server id length 65 is outside 1..64");
        }
        assertThat(server.servers()).isEmpty();
    }

    @Test
    void garbageAfterTheEntryIsMalformedAndCloses() throws Exception {
        try (RawPeer p = new RawPeer(server.address()).handshake(KEY)) {
            byte[] hello = DiscoveryMessages.hello(info("s1", 7400));
            byte[] longer = ByteBuffer.allocate(hello.length + 3).put(hello).array();
            p.send(p.frame(MessageType.HELLO.code(), 1, longer));
            p.expectErrorAndClose(ErrorCode.MALFORMED, "HELLO payload: 3 unexpected trailing bytes");
        }
        try (RawPeer p = new RawPeer(server.address()).handshake(KEY)) {
            p.send(p.frame(MessageType.HELLO.code(), 1, new byte[] {2, 's', '1', 9}));
            p.expectErrorAndClose(ErrorCode.MALFORMED, "server agent address family 9; expected 4 or 6");
        }
        assertThat(server.servers()).isEmpty();
    }

    @Test
    void anIdWithASpaceIsMalformedAndCloses() throws Exception {
        try (RawPeer p = new RawPeer(server.address()).handshake(KEY)) {
            p.send(p.frame(MessageType.HELLO.code(), 1, new byte[] {2, 's', ' ', 4, 10, 77, 101, 2, 0x1c, (byte) 0xe8}));
            p.expectErrorAndClose(ErrorCode.MALFORMED, "server id 's ' has character U+0020 at 1");
        }
        assertThat(server.servers()).isEmpty();
    }

    @Test
    void joinsBeyondTheLimitAreRefusedAndTheConnectionStays() throws Exception {
        try (ControlServer small = ControlServer.builder().key(KEY).operations(new InMemoryOperations()).maxServers(1)
                .start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             RawPeer first = new RawPeer(small.address()).handshake(KEY);
             RawPeer second = new RawPeer(small.address()).handshake(KEY)) {
            first.send(first.frame(MessageType.HELLO.code(), 1, DiscoveryMessages.hello(info("s1", 7401))));
            assertThat(first.receive().type()).isEqualTo(MessageType.PEER_LIST.code());
            second.send(second.frame(MessageType.HELLO.code(), 1, DiscoveryMessages.hello(info("s2", 7402))));
            RawPeer.Received r = second.receive();
            Messages.Error error = Messages.decodeError(r.payload());
            assertThat(ErrorCode.of(error.code())).isEqualTo(ErrorCode.OPERATION_FAILED);
            assertThat(error.message()).isEqualTo("the control server already has 1 servers joined, its limit");
            second.send(second.frame(MessageType.PING.code(), 2, new byte[0]));
            assertThat(second.receive().type()).as("still served").isEqualTo(MessageType.PONG.code());
            assertThat(small.servers()).containsExactly(info("s1", 7401));
        }
    }

    @Test
    void helloBeforeTheHandshakeIsRefused() throws Exception {
        try (RawPeer p = new RawPeer(server.address())) {
            p.send(ControlChannel.encode(MessageType.HELLO.code(), 1, 1, DiscoveryMessages.hello(info("s1", 7400)), null));
            p.expectErrorAndClose(ErrorCode.NOT_AUTHENTICATED, "HELLO before authentication");
        }
        assertThat(server.servers()).isEmpty();
    }

    @Test
    void aSecondHelloOnOneConnectionIsRefusedAndTheFirstStays() throws Exception {
        View watcher = new View();
        join(info("w", 7400), watcher);
        assertThat(watcher.next()).isEqualTo("list []");
        try (RawPeer p = new RawPeer(server.address()).handshake(KEY)) {
            p.send(p.frame(MessageType.HELLO.code(), 1, DiscoveryMessages.hello(info("s1", 7401))));
            assertThat(p.receive().type()).isEqualTo(MessageType.PEER_LIST.code());
            p.send(p.frame(MessageType.HELLO.code(), 2, DiscoveryMessages.hello(info("s2", 7402))));
            RawPeer.Received r = p.receive();
            assertThat(r.type()).isEqualTo(MessageType.ERROR.code());
            Messages.Error error = Messages.decodeError(r.payload());
            assertThat(error.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT.code());
            assertThat(error.message()).isEqualTo("this connection already joined as server s1");
            assertThat(watcher.next()).isEqualTo("join s1");
        }
        assertThat(watcher.next()).isEqualTo("leave s1");
    }
}
