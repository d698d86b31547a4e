package io.socketlauncher.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.AttributeKey;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.sys.FileStatus;
import io.socketlauncher.sys.NativeException;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The Netty adapter: serves a {@link LauncherServer}'s connections, accepted or arrived by transfer alike, as
 * {@link EpollSocketChannel}s adopted over their fds, in an epoll event loop group, each with the pipeline the
 * {@code initializer} sets up. {@link #transfer} takes a channel out of its event loop without closing its fd, moves
 * the connection to a peer, and on a rollback registers it again; the peer's {@code NettyServer} adopts the
 * arrival the same way.
 *
 * <pre>{@code
 * EventLoopGroup group = new MultiThreadIoEventLoopGroup(EpollIoHandler.newFactory());
 * NettyServer netty = NettyServer.start(server, group, new ChannelInitializer<Channel>() { ... });
 * // in a handler, at a message boundary, after the reply was flushed:
 * NettyServer.connection(ctx.channel()).applicationState(state);   // travels with it
 * netty.transfer(ctx.channel(), "s2");
 * }</pre>
 *
 * The application's part of the contract: transfer at a message boundary, when its handlers hold no bytes of the
 * connection (a decoder's partial frame would be lost; unread bytes in the kernel travel) and every reply has
 * been flushed into the socket (checked: a channel with pending writes is refused). After a successful transfer
 * the channel object is dead: it is never closed (its fd number belongs to nobody now), and nothing may use it.
 */
public final class NettyServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NettyServer.class.getName());
    private static final AttributeKey<Connection> CONNECTION = AttributeKey.valueOf(NettyServer.class, "connection");
    private static final AttributeKey<Boolean> MOVED = AttributeKey.valueOf(NettyServer.class, "moved");

    private final LauncherServer server;
    private final EventLoopGroup group;
    private final ChannelHandler initializer;
    private final Thread acceptor;
    private volatile boolean closed;

    private NettyServer(LauncherServer server, EventLoopGroup group, ChannelHandler initializer) {
        this.server = server;
        this.group = group;
        this.initializer = initializer;
        this.acceptor = Thread.ofPlatform().daemon().name("sl-netty-accept-" + server.id()).unstarted(this::acceptLoop);
    }

    /**
     * Starts taking the server's connections into {@code group} (an epoll group). {@code initializer} is added to
     * each channel's pipeline, so it must be {@link ChannelHandler.Sharable}, as a ChannelInitializer is.
     */
    public static NettyServer start(LauncherServer server, EventLoopGroup group, ChannelHandler initializer) {
        NettyServer netty = new NettyServer(Objects.requireNonNull(server, "server"), Objects.requireNonNull(group, "group"),
                Objects.requireNonNull(initializer, "initializer"));
        netty.acceptor.start();
        return netty;
    }

    /** The connection a channel of this adapter serves: its application state, where it came from. */
    public static Connection connection(Channel channel) {
        Connection c = channel.attr(CONNECTION).get();
        if (c == null) throw new IllegalArgumentException(channel + " is no channel of a NettyServer");
        return c;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Connection c = server.accept(Duration.ofMillis(200));
                if (c != null) adopt(c);
            } catch (IOException e) {
                if (!closed) LOG.log(System.Logger.Level.DEBUG, "server " + server.id() + " stopped accepting: " + e.getMessage());
                return;
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The connection's fd as a channel in one of the group's event loops. */
    private void adopt(Connection c) {
        EpollSocketChannel channel;
        try {
            FileStatus.setNonBlocking(c.fd(), true);
            channel = new EpollSocketChannel(c.fd());
        } catch (NativeException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot adopt " + c + ": " + e.getMessage());
            c.close();
            return;
        }
        channel.attr(CONNECTION).set(c);
        channel.pipeline().addLast(initializer);
        // Netty closes the fd; the connection must not close that number again.
        channel.closeFuture().addListener(f -> {
            if (channel.attr(MOVED).get() == null) c.closedElsewhere();
        });
        group.register(channel).addListener(f -> {
            if (!f.isSuccess()) {
                LOG.log(System.Logger.Level.WARNING, "cannot register " + c + ": " + f.cause());
                channel.close();
            }
        });
    }

    /**
     * Moves the channel's connection to {@code peerId}: the channel leaves its event loop (its fd stays open), the
     * server transfers the connection, and the future completes when the peer serves the client. On a failure
     * that left the connection here, the channel is registered again and reads on before the future fails; if the
     * rollback had to recreate the socket, a new channel with a fresh pipeline takes its place. Call it from the
     * channel's event loop at a message boundary (see the class comment), or from any thread when the channel is idle.
     */
    public CompletableFuture<TransferReport> transfer(Channel channel, String peerId) {
        CompletableFuture<TransferReport> result = new CompletableFuture<>();
        Connection c = connection(channel);
        EventLoop loop = channel.eventLoop();
        Runnable leave = () -> {
            ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
            if (out == null || !out.isEmpty()) {
                result.completeExceptionally(new IllegalStateException(channel + (out == null ? " is closed"
                        : " has " + out.totalPendingWriteBytes() + " bytes not yet written to its socket")));
                return;
            }
            channel.config().setAutoRead(false);
            int fd = c.fd();
            channel.deregister().addListener(d -> {
                if (!d.isSuccess()) {
                    channel.config().setAutoRead(true);
                    result.completeExceptionally(new IOException("cannot take " + channel + " out of its event loop", d.cause()));
                    return;
                }
                channel.attr(MOVED).set(Boolean.TRUE);
                server.transfer(c, peerId).whenComplete((report, failure) -> {
                    if (failure == null) {
                        result.complete(report);
                    } else if (failure instanceof TransferException te && !te.stayedOnSource()) {
                        result.completeExceptionally(failure); // its fate is unknown: leave the fd alone
                    } else {
                        comeBack(channel, c, fd, loop, failure, result);
                    }
                });
            });
        };
        if (loop.inEventLoop()) leave.run();
        else loop.execute(leave);
        return result;
    }

    /** After a rollback: the same channel back in its loop, or a new one over a recreated socket. */
    private void comeBack(Channel channel, Connection c, int fd, EventLoop loop, Throwable failure,
                          CompletableFuture<TransferReport> result) {
        channel.attr(MOVED).set(null);
        if (c.fd() != fd) {
            LOG.log(System.Logger.Level.WARNING, c + ": the rollback recreated the socket; a new channel serves it");
            adopt(c);
            result.completeExceptionally(failure);
            return;
        }
        try {
            FileStatus.setNonBlocking(fd, true);
        } catch (NativeException e) {
            failure.addSuppressed(e);
        }
        loop.register(channel).addListener(r -> {
            channel.config().setAutoRead(true);
            if (!r.isSuccess()) {
                failure.addSuppressed(r.cause());
                channel.close();
            }
            result.completeExceptionally(failure);
        });
    }

    /** Stops taking connections; channels already served stay in their loops (the application closes them). */
    @Override
    public void close() {
        closed = true;
        try {
            acceptor.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
