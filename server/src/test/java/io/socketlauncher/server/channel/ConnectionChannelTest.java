package io.socketlauncher.server.channel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.Testbed;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The NIO-style adapter over connections of a real {@link LauncherServer}, with a JDK client in another namespace. */
class ConnectionChannelTest {
    private static final byte[] KEY = "socket-launcher-testbed-key-32by".getBytes(StandardCharsets.US_ASCII);
    private static final int BYTES = 8 << 20;

    /** Own threads: the common pool may have a single worker on this machine, and these tasks block. */
    private final ExecutorService threads = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().factory());
    private Testbed tb;
    private LauncherServer server;

    @BeforeEach
    void start() throws Exception {
        tb = Testbed.builder().clients(1).servers(1).build();
        // The proxy is never asked anything here: no migration happens.
        server = LauncherServer.builder().id("s1").namespace(tb.server(1).namespace())
                .listen(new InetSocketAddress(tb.server(1).address(), 7000))
                .service(new InetSocketAddress(tb.serviceAddress(), 7000))
                .proxy(new InetSocketAddress(tb.server(1).gateway(), 7390)).key(KEY)
                .agent(new InetSocketAddress(tb.server(1).address(), 7400)).build();
    }

    @AfterEach
    void stop() throws Exception {
        threads.shutdownNow();
        if (server != null) server.close();
        tb.close();
    }

    private SocketChannel connect() throws Exception {
        return tb.client(1).namespace().call(() -> SocketChannel.open(server.listenAddress()));
    }

    /** Sends the numbered stream and checks every byte that comes back; returns the byte count echoed. */
    private long sendAndCheckEcho(SocketChannel client) throws Exception {
        CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
            try {
                ByteBuffer out = ByteBuffer.allocate(64 << 10);
                for (long offset = 0; offset < BYTES; ) {
                    out.clear();
                    int n = (int) Math.min(out.capacity(), BYTES - offset);
                    NumberedStream.fill(out.array(), n, offset, NumberedStream.CLIENT_TO_SERVER);
                    out.limit(n);
                    while (out.hasRemaining()) client.write(out);
                    offset += n;
                }
                client.shutdownOutput();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, threads);
        ByteBuffer in = ByteBuffer.allocate(64 << 10);
        long received = 0;
        for (int n; (n = client.read(in.clear())) >= 0; ) {
            assertThat(NumberedStream.firstMismatch(in.array(), n, received, NumberedStream.CLIENT_TO_SERVER))
                    .as("first wrong byte after %d good ones", received).isEqualTo(-1);
            received += n;
        }
        sent.get(60, TimeUnit.SECONDS);
        return received;
    }

    @Test
    void aNonBlockingEchoWithDirectBuffersReturnsEveryByte() throws Exception {
        try (SocketChannel client = connect()) {
            Connection c = server.accept(Duration.ofSeconds(10));
            assertThat(c).isNotNull();
            CompletableFuture<Long> echoed = CompletableFuture.supplyAsync(() -> {
                try (ConnectionChannel ch = ConnectionChannel.of(c).configureBlocking(false)) {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(32 << 10);
                    long total = 0;
                    while (true) {
                        int n = ch.read(buffer.clear());
                        if (n == 0) {
                            assertThat(ch.awaitReadable(Duration.ofSeconds(30))).as("readable within 30 s").isTrue();
                            continue;
                        }
                        if (n < 0) break;
                        buffer.flip();
                        while (buffer.hasRemaining()) {
                            if (ch.write(buffer) == 0) ch.awaitWritable(Duration.ofSeconds(30));
                        }
                        total += n;
                    }
                    ch.shutdownOutput();
                    return total;
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, threads);
            assertThat(sendAndCheckEcho(client)).isEqualTo(BYTES);
            assertThat(echoed.get(60, TimeUnit.SECONDS)).isEqualTo(BYTES);
        }
    }

    @Test
    void blockingScatterAndGatherKeepMessageBoundaries() throws Exception {
        try (SocketChannel client = connect()) {
            Connection c = server.accept(Duration.ofSeconds(10));
            CompletableFuture<Integer> served = CompletableFuture.supplyAsync(() -> {
                try (ConnectionChannel ch = ConnectionChannel.of(c)) {
                    int messages = 0;
                    ByteBuffer header = ByteBuffer.allocate(4);
                    while (true) {
                        header.clear();
                        while (header.hasRemaining()) if (ch.read(header) < 0) return messages;
                        ByteBuffer body = ByteBuffer.allocate(header.flip().getInt(0));
                        while (body.hasRemaining()) ch.read(new ByteBuffer[] {body});
                        header.rewind();
                        body.flip();
                        ByteBuffer prefix = ByteBuffer.wrap("re:".getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();
                        ByteBuffer newHeader = ByteBuffer.allocateDirect(4).putInt(0, body.remaining() + 3);
                        assertThat(ch.write(new ByteBuffer[] {newHeader, prefix, body})).isEqualTo(4 + 3 + header.getInt(0));
                        messages++;
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, threads);
            for (int i = 0; i < 50; i++) {
                byte[] body = ("message " + i + " ").repeat(i * 40).getBytes(StandardCharsets.US_ASCII);
                ByteBuffer out = ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).flip();
                while (out.hasRemaining()) client.write(out);
                ByteBuffer header = ByteBuffer.allocate(4);
                while (header.hasRemaining()) assertThat(client.read(header)).isNotNegative();
                ByteBuffer reply = ByteBuffer.allocate(header.getInt(0));
                while (reply.hasRemaining()) assertThat(client.read(reply)).isNotNegative();
                assertThat(new String(reply.array(), StandardCharsets.US_ASCII)).isEqualTo("re:" + new String(body, StandardCharsets.US_ASCII));
            }
            assertThatThrownBy(() -> ConnectionChannel.of(c).read(ByteBuffer.allocate(4).asReadOnlyBuffer()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("read-only buffer");
            client.shutdownOutput();
            assertThat(served.get(30, TimeUnit.SECONDS)).isEqualTo(50);
            assertThat(client.read(ByteBuffer.allocate(1))).as("end of stream after the server closed").isEqualTo(-1);
        }
    }
}
