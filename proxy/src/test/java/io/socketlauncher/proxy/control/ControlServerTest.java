package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The control protocol over real loopback sockets, against an in-memory {@link InMemoryOperations} double. */
class ControlServerTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes();
    private static final InetSocketAddress VIP = address("10.77.200.1", 6379);
    private static final InetSocketAddress CLIENT = address("10.77.1.2", 40000);
    private static final FlowKey FLOW = new FlowKey(CLIENT, VIP);

    private final InMemoryOperations operations = new InMemoryOperations();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private ControlServer server;

    @BeforeEach
    void start() throws IOException {
        server = ControlServer.builder().key(KEY).operations(operations).meterRegistry(registry)
                .frameTimeout(Duration.ofSeconds(2)).start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    private static InetSocketAddress address(String ip, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral(ip), port);
    }

    private ControlClient client() throws IOException {
        return ControlClient.connect(server.address(), KEY, Duration.ofSeconds(10));
    }

    private void seed() throws IOException {
        operations.addBackend(VIP, "s1", address("10.77.101.2", 6379), 100);
        operations.addBackend(VIP, "s2", address("10.77.102.2", 6380), 50);
        operations.addFlow(new FlowInfo(FLOW, "s1", 10, 1000, 5));
        operations.calls.clear();
    }

    /** After any abuse the server keeps serving a well-behaved client. */
    private void assertStillServes() throws IOException {
        try (ControlClient c = client()) {
            c.ping();
            assertThat(c.backends()).isNotNull();
        }
    }

    private double rejected(ErrorCode code) {
        var counter = registry.find("socketlauncher.control.rejected").tag("reason", code.name()).counter();
        return counter == null ? 0 : counter.count();
    }

    /**
     * A migrating server's client waits for the REDIRECTED answer: it comes from a real-time thread (the tests run
     * as root, so the process may; 1 is SCHED_FIFO).
     */
    @Test
    void aRedirectIsAnsweredFromAThreadUnderSchedFifo() throws IOException {
        seed();
        try (ControlClient c = client()) {
            c.redirect(FLOW, "s2");
        }
        assertThat(operations.redirectPolicy).as("scheduling policy of the thread that served REDIRECT").isEqualTo(1);
    }

    /** A listing walks the whole flow table: never at real-time priority (0 is SCHED_OTHER); REDIRECT is again after it. */
    @Test
    void aFlowListingRunsAtOrdinaryPriorityAndTheRedirectAfterItRealTime() throws IOException {
        seed();
        try (ControlClient c = client()) {
            c.flows(10);
            c.redirect(FLOW, "s2");
        }
        assertThat(operations.flowsPolicy).as("scheduling policy of the thread while it listed flows").isZero();
        assertThat(operations.redirectPolicy).as("scheduling policy of the same thread at the next REDIRECT").isEqualTo(1);
    }

    @Test
    void everyOperationRoundTrips() throws IOException {
        seed();
        InetSocketAddress vip6 = address("fd77:0:200::1", 443);
        try (ControlClient c = client()) {
            c.ping();
            c.addBackend(vip6, "web-1", address("fd77:0:101::2", 8443), 7);
            c.setWeight("s2", 0);
            assertThat(c.backends()).containsExactly(
                    new BackendInfo("s1", VIP, address("10.77.101.2", 6379), 100, true, 0, 0, 0),
                    new BackendInfo("s2", VIP, address("10.77.102.2", 6380), 0, true, 0, 0, 0),
                    new BackendInfo("web-1", vip6, address("fd77:0:101::2", 8443), 7, true, 0, 0, 0));
            assertThat(c.flows(10)).containsExactly(new FlowInfo(FLOW, "s1", 10, 1000, 5));
            assertThat(c.redirect(FLOW, "s2")).isEqualTo(new FlowInfo(FLOW, "s2", 10, 1000, 0));
            assertThat(c.flows(10)).extracting(FlowInfo::backendId).containsExactly("s2");
            c.removeBackend("web-1");
        }
        assertThat(operations.calls).containsExactly(
                "add web-1 [fd77:0:200:0:0:0:0:1]:443 [fd77:0:101:0:0:0:0:2]:8443 7",
                "weight s2 0", "backends", "flows 10",
                "redirect 10.77.1.2:40000-10.77.200.1:6379 s2", "flows 10", "remove web-1");
    }

    @Test
    void flowLimitIsBoundedByWhatOneReplyCarries() throws IOException {
        for (int port = 1; port <= Wire.MAX_FLOWS_PER_REPLY + 20; port++) {
            operations.addFlow(new FlowInfo(new FlowKey(address("fd77:0:1::2", port), address("fd77:0:200::1", 80)),
                    "a-backend-id-that-is-as-long-as-an-id-may-be-sixty-four-chars-xy", port, port, port));
        }
        try (ControlClient c = client()) {
            assertThat(c.flows(Integer.MAX_VALUE)).hasSize(Wire.MAX_FLOWS_PER_REPLY);
            assertThat(c.flows(3)).extracting(FlowInfo::packets).containsExactly(1L, 2L, 3L);
        }
        assertThat(operations.calls).containsExactly("flows " + Wire.MAX_FLOWS_PER_REPLY, "flows 3");
    }

    @Test
    void refusedOperationsKeepTheConnectionOpen() throws IOException {
        seed();
        try (ControlClient c = client()) {
            FlowKey unknown = new FlowKey(address("10.77.1.2", 1), VIP);
            assertThatThrownBy(() -> c.redirect(unknown, "s2")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("unknown flow 10.77.1.2:1-10.77.200.1:6379");
            assertThatThrownBy(() -> c.redirect(FLOW, "s9")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("unknown backend s9");
            operations.failure = new IOException("bpf_map_update_elem: E2BIG");
            assertThatThrownBy(() -> c.setWeight("s1", 3)).isInstanceOf(ControlException.class)
                    .hasMessageContaining("bpf_map_update_elem: E2BIG")
                    .satisfies(e -> assertThat(((ControlException) e).errorCode())
                            .isEqualTo(ErrorCode.OPERATION_FAILED));
            operations.failure = null;
            c.ping();
            assertThat(c.redirect(FLOW, "s2").backendId()).isEqualTo("s2");
        }
        assertThat(rejected(ErrorCode.INVALID_ARGUMENT)).isEqualTo(2);
        assertThat(rejected(ErrorCode.OPERATION_FAILED)).isEqualTo(1);
    }

    @Test
    void clientWithAnotherKeyIsRefusedAtTheHandshake() throws IOException {
        byte[] otherKey = "another key of thirty-two bytes!".getBytes();
        assertThatThrownBy(() -> ControlClient.connect(server.address(), otherKey))
                .isInstanceOf(ControlException.class)
                .hasMessageContaining("AUTH_INIT does not verify with the server's key")
                .satisfies(e -> assertThat(((ControlException) e).errorCode()).isEqualTo(ErrorCode.AUTH_FAILED));
        assertThat(operations.calls).isEmpty();
        assertThat(rejected(ErrorCode.AUTH_FAILED)).isEqualTo(1);
        assertStillServes();
    }

    @Test
    void clientNoticesAServerWithAnotherKey() throws IOException {
        byte[] otherKey = "another key of thirty-two bytes!".getBytes();
        // A server that accepts any AUTH_INIT but signs with another key: the client must not trust it.
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread impostor = Thread.ofVirtual().start(() -> {
                try (var s = listener.accept().socket()) {
                    byte[] init = s.getInputStream().readNBytes(Wire.HEADER_BYTES + Wire.NONCE_BYTES + Wire.MAC_BYTES);
                    assertThat(init).hasSize(Wire.HEADER_BYTES + Wire.NONCE_BYTES + Wire.MAC_BYTES);
                    s.getOutputStream().write(ControlChannel.encode(MessageType.AUTH_CHALLENGE.code(), 0, 0,
                            new byte[Wire.NONCE_BYTES], ControlChannel.mac(otherKey)));
                    s.getInputStream().read();
                } catch (IOException e) {
                    // the client hung up, as it should
                }
            });
            assertThatThrownBy(() -> ControlClient.connect((InetSocketAddress) listener.getLocalAddress(), KEY))
                    .isInstanceOf(ProtocolException.class)
                    .hasMessageContaining("the server's AUTH_CHALLENGE does not verify with our key");
            impostor.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void redirectWithoutHandshakeIsRefused() throws IOException {
        seed();
        try (RawPeer peer = new RawPeer(server.address())) {
            // A REDIRECT MAC'd with the right shared key but without a session: still not authenticated.
            peer.send(ControlChannel.encode(MessageType.REDIRECT.code(), 1, 5, Messages.redirect(FLOW, "s2"),
                    ControlChannel.mac(KEY)));
            peer.expectErrorAndClose(ErrorCode.NOT_AUTHENTICATED,
                    "REDIRECT before authentication: the first frame must be AUTH_INIT");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void forgedMacIsRefused() throws IOException {
        seed();
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            byte[] frame = peer.frame(MessageType.REDIRECT.code(), 9, Messages.redirect(FLOW, "s2"));
            frame[frame.length - 1] ^= 1;
            peer.send(frame);
            Messages.Error error = peer.expectErrorAndClose(ErrorCode.AUTH_FAILED,
                    "MAC of the REDIRECT frame (sequence 1) does not verify with the session key");
            assertThat(error.code()).isEqualTo(ErrorCode.AUTH_FAILED.code());
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void frameWithoutMacIsRefused() throws IOException {
        seed();
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            byte[] frame = peer.frame(MessageType.REDIRECT.code(), 9, Messages.redirect(FLOW, "s2"));
            peer.send(Arrays.copyOf(frame, frame.length - Wire.MAC_BYTES));
            peer.socket.shutdownOutput();
            peer.expectErrorAndClose(ErrorCode.TRUNCATED, "connection ended after 0 of 32 MAC bytes");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void replayedFrameIsRefused() throws IOException {
        seed();
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            byte[] redirect = peer.frame(MessageType.REDIRECT.code(), 1, Messages.redirect(FLOW, "s2"));
            peer.send(redirect);
            RawPeer.Received reply = peer.receive();
            assertThat(reply.type()).isEqualTo(MessageType.REDIRECTED.code());
            assertThat(reply.macVerified()).isTrue();
            peer.send(redirect);
            peer.expectErrorAndClose(ErrorCode.REPLAY, "sequence 1 replayed or out of order; expected 2");
        }
        assertThat(operations.calls).containsExactly("redirect 10.77.1.2:40000-10.77.200.1:6379 s2");
        assertStillServes();
    }

    @Test
    void frameRecordedOnAnotherConnectionIsRefused() throws IOException {
        seed();
        byte[] recorded;
        try (RawPeer first = new RawPeer(server.address()).handshake(KEY)) {
            recorded = first.frame(MessageType.SET_WEIGHT.code(), 1, Messages.setWeight("s1", 0));
        }
        try (RawPeer second = new RawPeer(server.address()).handshake(KEY)) {
            second.send(recorded);
            second.expectErrorAndClose(ErrorCode.AUTH_FAILED, "MAC of the SET_WEIGHT frame");
        }
        assertThat(operations.calls).isEmpty();
    }

    @Test
    void serverFrameReflectedBackIsRefused() throws IOException {
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            peer.send(peer.frame(MessageType.PING.code(), 1, new byte[0]));
            RawPeer.Received pong = peer.receive();
            assertThat(pong.type()).isEqualTo(MessageType.PONG.code());
            // The server's own PONG sent back byte for byte: its MAC is valid, but under the server->client key,
            // so the server must not take it for ours (the MAC is checked before the sequence).
            assertThat(pong.macVerified()).isTrue();
            ByteBuffer reflected = ByteBuffer.allocate(Wire.HEADER_BYTES + Wire.MAC_BYTES);
            reflected.putInt(Wire.MAGIC).put((byte) 1).put((byte) 0).putShort((short) pong.type())
                    .putLong(pong.sequence()).putInt(pong.requestId()).putInt(0).put(pong.mac());
            peer.send(reflected.array());
            peer.expectErrorAndClose(ErrorCode.AUTH_FAILED, "MAC of the PONG frame");
        }
    }

    @Test
    void truncatedHeaderIsRefused() throws IOException {
        try (RawPeer peer = new RawPeer(server.address())) {
            byte[] init = ControlChannel.encode(MessageType.AUTH_INIT.code(), 0, 0, new byte[32], ControlChannel.mac(KEY));
            peer.send(Arrays.copyOf(init, 10));
            peer.socket.shutdownOutput();
            peer.expectErrorAndClose(ErrorCode.TRUNCATED, "truncated frame: connection ended after 10 of 24 header bytes");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void truncatedPayloadAfterHandshakeIsRefused() throws IOException {
        seed();
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            byte[] frame = peer.frame(MessageType.REDIRECT.code(), 3, Messages.redirect(FLOW, "s2"));
            peer.send(Arrays.copyOf(frame, Wire.HEADER_BYTES + 5));
            peer.socket.shutdownOutput();
            Messages.Error error = peer.expectErrorAndClose(ErrorCode.TRUNCATED, "after 5 of ");
            assertThat(error.message()).endsWith("payload bytes");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void badHandshakesAreRefused() throws IOException {
        try (RawPeer peer = new RawPeer(server.address())) {
            peer.send(ControlChannel.encode(MessageType.AUTH_INIT.code(), 0, 0, new byte[5], ControlChannel.mac(KEY)));
            peer.expectErrorAndClose(ErrorCode.MALFORMED, "AUTH_INIT payload: nonce needs 32 bytes, 5 left");
        }
        try (RawPeer peer = new RawPeer(server.address())) {
            peer.send(ControlChannel.encode(MessageType.AUTH_INIT.code(), 3, 0, new byte[32], ControlChannel.mac(KEY)));
            peer.expectErrorAndClose(ErrorCode.MALFORMED, "AUTH_INIT carries sequence 3; handshake frames carry 0");
        }
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            peer.send(peer.frame(MessageType.AUTH_INIT.code(), 1, new byte[32]));
            peer.expectErrorAndClose(ErrorCode.UNEXPECTED_TYPE,
                    "AUTH_INIT is not a request the proxy's control server answers");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void stalledFrameTimesOut() throws IOException {
        try (RawPeer peer = new RawPeer(server.address())) {
            byte[] init = ControlChannel.encode(MessageType.AUTH_INIT.code(), 0, 0, new byte[32], ControlChannel.mac(KEY));
            peer.send(Arrays.copyOf(init, 30));
            peer.expectErrorAndClose(ErrorCode.TIMEOUT, "frame incomplete after 2000 ms: 6 of 32 payload bytes");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void idleConnectionIsClosedWithAnAuthenticatedError() throws IOException {
        try (ControlServer impatient = ControlServer.builder().key(KEY).operations(operations)
                .idleTimeout(Duration.ofMillis(300)).start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             RawPeer peer = new RawPeer(impatient.address()).handshake(KEY)) {
            peer.expectErrorAndClose(ErrorCode.TIMEOUT, "no frame within 300 ms");
        }
        assertThat(operations.calls).isEmpty();
    }

    @Test
    void oversizedLengthIsRefusedBeforeAnyPayloadIsRead() throws IOException {
        for (long length : new long[] {Wire.MAX_PAYLOAD + 1L, 0x7fffffffL, 0xffffffffL}) {
            try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
                byte[] header = Arrays.copyOf(peer.frame(MessageType.FLOWS.code(), 4, new byte[0]), Wire.HEADER_BYTES);
                ByteBuffer.wrap(header).putInt(20, (int) length);
                // Only the header goes out: the reply must come without the server waiting for a payload.
                peer.send(header);
                peer.expectErrorAndClose(ErrorCode.FRAME_TOO_LARGE,
                        "payload length " + length + " exceeds the limit of 65536 bytes");
            }
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void beforeAuthenticationOnlyAHandshakeSizedPayloadIsAccepted() throws IOException {
        // A peer that has not authenticated gets no buffer larger than a handshake frame's, nor a wait for one.
        for (long length : new long[] {Wire.MAX_HANDSHAKE_PAYLOAD + 1L, Wire.MAX_PAYLOAD}) {
            try (RawPeer peer = new RawPeer(server.address())) {
                byte[] header = Arrays.copyOf(ControlChannel.encode(MessageType.AUTH_INIT.code(), 0, 0, new byte[0], null),
                        Wire.HEADER_BYTES);
                ByteBuffer.wrap(header).putInt(20, (int) length);
                peer.send(header);
                peer.expectErrorAndClose(ErrorCode.FRAME_TOO_LARGE, "payload length " + length
                        + " of AUTH_INIT exceeds the limit of 1028 bytes before authentication");
            }
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void badMagicIsRefused() throws IOException {
        try (RawPeer peer = new RawPeer(server.address())) {
            peer.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
            peer.expectErrorAndClose(ErrorCode.BAD_MAGIC, "bad magic 0x47455420; expected 0x534c4350");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void garbageIsRefused() throws IOException {
        byte[] garbage = new byte[4096];
        new Random(42).nextBytes(garbage);
        try (RawPeer peer = new RawPeer(server.address())) {
            peer.send(garbage);
            peer.expectErrorAndClose(ErrorCode.BAD_MAGIC, "bad magic 0x");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void otherVersionIsRefused() throws IOException {
        try (RawPeer peer = new RawPeer(server.address())) {
            byte[] init = ControlChannel.encode(MessageType.AUTH_INIT.code(), 0, 0, new byte[32], ControlChannel.mac(KEY));
            init[4] = 2;
            peer.send(init);
            peer.expectErrorAndClose(ErrorCode.UNSUPPORTED_VERSION,
                    "protocol version 2 is not supported; this peer speaks version 1");
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void unknownTypeIsRefused() throws IOException {
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            peer.send(peer.frame(0x0277, 8, new byte[3]));
            RawPeer.Received r = peer.receive();
            Messages.Error error = Messages.decodeError(r.payload());
            assertThat(r.requestId()).as("the error names the request it answers").isEqualTo(8);
            assertThat(ErrorCode.of(error.code())).isEqualTo(ErrorCode.UNKNOWN_TYPE);
            assertThat(error.message()).isEqualTo("unknown message type 0x0277 in protocol version 1");
            assertThat(peer.socket.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(operations.calls).isEmpty();
        assertStillServes();
    }

    @Test
    void replyTypeSentAsRequestIsRefused() throws IOException {
        seed();
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            peer.send(peer.frame(MessageType.REDIRECTED.code(), 1,
                    Messages.redirected(new FlowInfo(FLOW, "s2", 0, 0, 0))));
            peer.expectErrorAndClose(ErrorCode.UNEXPECTED_TYPE,
                    "REDIRECTED is not a request the proxy's control server answers");
        }
        assertThat(operations.calls).isEmpty();
    }

    @Test
    void malformedPayloadIsRefusedWithoutReachingTheProxy() throws IOException {
        seed();
        byte[] payload = Messages.redirect(FLOW, "s2");
        payload[0] = 5;
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            peer.send(peer.frame(MessageType.REDIRECT.code(), 1, payload));
            peer.expectErrorAndClose(ErrorCode.MALFORMED, "REDIRECT payload: flow client family 5; expected 4 or 6");
        }
        try (RawPeer peer = new RawPeer(server.address()).handshake(KEY)) {
            peer.send(peer.frame(MessageType.SET_WEIGHT.code(), 1, Messages.setWeight("s1", 1).clone()));
            peer.receive();
            byte[] negative = Messages.setWeight("s1", 1);
            ByteBuffer.wrap(negative).putInt(negative.length - 4, -1);
            peer.send(peer.frame(MessageType.SET_WEIGHT.code(), 2, negative));
            peer.expectErrorAndClose(ErrorCode.MALFORMED, "SET_WEIGHT payload: weight -1 is negative");
        }
        assertThat(operations.calls).containsExactly("weight s1 1");
        assertStillServes();
    }

    @Test
    void connectionsBeyondTheLimitAreRefused() throws IOException {
        try (ControlServer small = ControlServer.builder().key(KEY).operations(operations).maxConnections(1)
                .meterRegistry(registry).start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             ControlClient first = ControlClient.connect(small.address(), KEY)) {
            first.ping();
            assertThatThrownBy(() -> ControlClient.connect(small.address(), KEY))
                    .isInstanceOf(ControlException.class)
                    .hasMessageContaining("already serves 1 connections");
            first.ping();
        }
    }

    @Test
    void closingTheServerEndsItsConnections() throws IOException {
        ControlServer closing = ControlServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), KEY,
                operations);
        try (ControlClient c = ControlClient.connect(closing.address(), KEY)) {
            c.ping();
            closing.close();
            assertThatThrownBy(c::ping).isInstanceOf(IOException.class).hasMessageContaining("PING to 127.0.0.1:");
            assertThatThrownBy(c::ping).hasMessageContaining("is closed");
        }
        assertThatThrownBy(() -> ControlClient.connect(closing.address(), KEY))
                .hasMessageContaining("cannot connect to the proxy control server at 127.0.0.1:");
    }

    @Test
    void rejectionsAreCounted() throws IOException {
        try (RawPeer peer = new RawPeer(server.address())) {
            peer.send(new byte[Wire.HEADER_BYTES]);
            peer.expectErrorAndClose(ErrorCode.BAD_MAGIC, "bad magic 0x00000000");
        }
        assertThat(rejected(ErrorCode.BAD_MAGIC)).isEqualTo(1);
    }

    @Test
    void serverOnAListenerBoundElsewhereServes() throws IOException {
        // The proxy binds its listener on a thread inside the lb namespace and hands it over; simulated here by
        // binding on another thread than the one starting the server.
        ServerSocketChannel listener;
        try {
            listener = bindOnAnotherThread();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        try (ControlServer handed = ControlServer.start(listener, KEY, operations);
             ControlClient c = ControlClient.connect(handed.address(), KEY)) {
            assertThat(c.backends()).isEmpty();
        }
        assertThat(listener.isOpen()).isFalse();
    }

    private static ServerSocketChannel bindOnAnotherThread() throws InterruptedException {
        ServerSocketChannel[] out = new ServerSocketChannel[1];
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                out[0] = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        t.join();
        assertThat(out[0]).isNotNull();
        return out[0];
    }

    @Test
    void wellBehavedClientsAreServedConcurrently() throws Exception {
        seed();
        List<Thread> threads = new java.util.ArrayList<>();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < 8; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try (ControlClient c = client()) {
                    for (int j = 0; j < 20; j++) {
                        assertThat(c.backends()).hasSize(2);
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(failures).isEmpty();
        assertThat(operations.calls).hasSize(160);
    }
}
