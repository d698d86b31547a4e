package io.socketlauncher.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.Testbed;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A Netty echo server over a real {@link LauncherServer}'s connections, each adopted as an {@link EpollSocketChannel}. */
class NettyEchoTest {
    private static final byte[] KEY = "socket-launcher-testbed-key-32by".getBytes(StandardCharsets.US_ASCII);
    private static final int BYTES = 8 << 20;

    @ChannelHandler.Sharable
    private static final class Echo extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Channel> served = new CompletableFuture<>();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            served.complete(ctx.channel());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        /** The client's FIN: close only once everything read has been written back (half-closure allowed below). */
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.fireUserEventTriggered(event);
            }
        }
    }

    @Test
    void everyByteComesBackAndTheConnectionClosesWithTheChannel() throws Exception {
        ExecutorService threads = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().factory());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        Echo echo = new Echo();
        try (Testbed tb = Testbed.builder().clients(1).servers(1).build();
             // The proxy is never asked anything here: no migration happens.
             LauncherServer server = LauncherServer.builder().id("s1").namespace(tb.server(1).namespace())
                     .listen(new InetSocketAddress(tb.server(1).address(), 7000))
                     .service(new InetSocketAddress(tb.serviceAddress(), 7000))
                     .proxy(new InetSocketAddress(tb.server(1).gateway(), 7390)).key(KEY)
                     .agent(new InetSocketAddress(tb.server(1).address(), 7400)).build();
             NettyServer netty = NettyServer.start(server, group, new ChannelInitializer<Channel>() {
                 @Override
                 protected void initChannel(Channel ch) {
                     // Netty's default closes the channel at the client's FIN, dropping echoes still queued to be written.
                     ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
                     ch.pipeline().addLast(echo);
                 }
             });
             SocketChannel client = tb.client(1).namespace().call(() -> SocketChannel.open(server.listenAddress()))) {
            Channel channel = echo.served.get(10, TimeUnit.SECONDS);
            assertThat(channel).isInstanceOf(EpollSocketChannel.class);
            Connection connection = NettyServer.connection(channel);
            assertThat(channel.remoteAddress()).isEqualTo(connection.client());
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try {
                    ByteBuffer out = ByteBuffer.allocate(64 << 10);
                    for (long offset = 0; offset < BYTES; ) {
                        int n = (int) Math.min(out.capacity(), BYTES - offset);
                        NumberedStream.fill(out.array(), n, offset, NumberedStream.CLIENT_TO_SERVER);
                        out.clear().limit(n);
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
            assertThat(received).isEqualTo(BYTES);
            // The client's FIN closed the channel; Netty closed the fd, and the connection knows it once the close
            // future's listener has run (after the future completed, which is all await() waits for).
            channel.closeFuture().await(10, TimeUnit.SECONDS);
            assertThat(channel.isOpen()).isFalse();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (connection.isOpen() && System.nanoTime() < deadline) Thread.sleep(1);
            assertThat(connection.isOpen()).isFalse();
            assertThat(connection.fd()).isEqualTo(-1);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            threads.shutdownNow();
        }
    }
}
