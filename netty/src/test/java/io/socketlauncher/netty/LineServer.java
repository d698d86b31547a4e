package io.socketlauncher.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import io.netty.util.AttributeKey;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The Netty tests' application, a line protocol with a per-connection counter that travels in the application state:
 * "server count line" for each line; "move" answers "moving count" and, once that is in the socket, hands the
 * connection to the other server; "stay" makes the channel ignore drain requests. A drain request moves any other
 * channel that has said something (each line is answered as it comes, so between two lines the channel holds no
 * bytes of a request); one that never did is the proxy's TCP health check, with no flow to move.
 */
@ChannelHandler.Sharable
final class LineServer extends SimpleChannelInboundHandler<String> {
    private static final AttributeKey<Boolean> STAY = AttributeKey.valueOf(LineServer.class, "stay");

    final LauncherServer server;
    final AtomicReference<NettyServer> netty = new AtomicReference<>();
    /** Transfers that failed, as "from -> to: failure". */
    final List<String> failures;
    /** With {@link #twice}: what the second transfer of a "move" came to. */
    final List<String> secondAnswers = Collections.synchronizedList(new ArrayList<>());
    /** Ask for a second transfer while the first of a "move" runs, as a careless application might. */
    volatile boolean twice;

    LineServer(LauncherServer server, List<String> failures) {
        this.server = server;
        this.failures = failures;
    }

    /** The server's connections served by this application in {@code group}. */
    static NettyServer serve(LauncherServer server, EventLoopGroup group, List<String> failures) {
        return new LineServer(server, failures).serve(group);
    }

    NettyServer serve(EventLoopGroup group) {
        LineServer handler = this;
        NettyServer adapter = NettyServer.start(server, group, new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new LineBasedFrameDecoder(8192), new StringDecoder(StandardCharsets.US_ASCII),
                        new StringEncoder(StandardCharsets.US_ASCII), handler);
            }
        });
        netty.set(adapter);
        return adapter;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, String line) {
        Connection c = NettyServer.connection(ctx.channel());
        byte[] state = c.applicationState();
        long count = (state.length == 8 ? ByteBuffer.wrap(state).getLong() : 0) + 1;
        c.applicationState(ByteBuffer.allocate(8).putLong(count).array());
        if (!line.equals("move")) {
            if (line.equals("stay")) ctx.channel().attr(STAY).set(Boolean.TRUE);
            ctx.writeAndFlush(server.id() + " " + count + " " + line + "\n");
            return;
        }
        String peer = server.id().equals("s1") ? "s2" : "s1";
        ctx.writeAndFlush("moving " + count + "\n").addListener((ChannelFutureListener) f -> {
            move(f.channel(), peer);
            if (twice) {
                netty.get().transfer(f.channel(), peer).whenComplete((report, failure) -> secondAnswers.add(String.valueOf(failure)));
            }
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (!(event instanceof NettyServer.DrainRequest request)) {
            super.userEventTriggered(ctx, event);
            return;
        }
        if (ctx.channel().attr(STAY).get() != null || NettyServer.connection(ctx.channel()).applicationState().length == 0) return;
        move(ctx.channel(), request.peer());
    }

    private void move(Channel channel, String peer) {
        netty.get().transfer(channel, peer).whenComplete((report, failure) -> {
            if (failure != null) failures.add(server.id() + " -> " + peer + ": " + failure);
        });
    }
}
