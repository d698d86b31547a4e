package io.socketlauncher.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.DefaultChannelPromise;
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
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.socketlauncher.server.policy.DrainReport;
import io.socketlauncher.server.policy.PeerSelector;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

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
    /** Set (on its event loop) when a transfer takes the channel out; cleared only when a rollback puts it back. */
    private static final AttributeKey<Boolean> MOVING = AttributeKey.valueOf(NettyServer.class, "moving");

    private final LauncherServer server;
    private final EventLoopGroup group;
    private final ChannelHandler initializer;
    private final Thread acceptor;
    /** The channels it serves now: closed ones leave by themselves, moved ones are taken out. */
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private volatile NettyDrain drain;
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
            NettyDrain d = drain;
            if (d != null) d.closed(c, channel);
        });
        registerAnswered(group, channel).addListener(f -> {
            if (!f.isSuccess()) {
                LOG.log(System.Logger.Level.WARNING, "cannot register " + c + ": " + f.cause());
                closeUnregistered(channel, c);
                return;
            }
            channels.add(channel);
            NettyDrain d = drain; // a rollback recreated its socket: this channel serves it now (asking may ask the proxy)
            if (d != null) GlobalEventExecutor.INSTANCE.execute(() -> d.served(c, channel));
        });
    }

    /** A transfer asked of a channel that a transfer has already taken out of its event loop. */
    private static final class AlreadyMovingException extends IllegalStateException {
        AlreadyMovingException(Channel channel) {
            super(channel + " is being moved or has moved");
        }
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
        // A drain hears the outcome once it is settled (after a rollback the channel is back in its loop), off the
        // migration's real-time thread: asking again may ask the proxy for the peers' loads.
        result.whenComplete((report, failure) -> {
            NettyDrain d = drain;
            if (d != null) GlobalEventExecutor.INSTANCE.execute(() -> d.transferred(c, failure));
        });
        EventLoop loop = channel.eventLoop();
        Runnable leave = () -> {
            if (channel.attr(MOVING).get() != null) {
                result.completeExceptionally(new AlreadyMovingException(channel)); // that transfer answers for it
                return;
            }
            ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
            if (out == null || !out.isEmpty()) {
                result.completeExceptionally(new IllegalStateException(channel + (out == null ? " is closed"
                        : " has " + out.totalPendingWriteBytes() + " bytes not yet written to its socket")));
                return;
            }
            channel.attr(MOVING).set(Boolean.TRUE);
            channel.config().setAutoRead(false);
            int fd = c.fd();
            channel.deregister().addListener(d -> {
                if (!d.isSuccess()) {
                    channel.attr(MOVING).set(null);
                    channel.config().setAutoRead(true);
                    result.completeExceptionally(new IOException("cannot take " + channel + " out of its event loop", d.cause()));
                    return;
                }
                channel.attr(MOVED).set(Boolean.TRUE);
                server.transfer(c, peerId).whenComplete((report, failure) -> {
                    if (failure == null) {
                        channels.remove(channel); // moved: the fd is no longer ours
                        result.complete(report);
                    } else if (failure instanceof TransferException te && !te.stayedOnSource()) {
                        channels.remove(channel); // its fate is unknown: leave the fd alone
                        result.completeExceptionally(failure);
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
        if (c.fd() != fd) {
            // This channel is dead (its fd number is no longer the connection's) and stays marked moved and moving.
            LOG.log(System.Logger.Level.WARNING, c + ": the rollback recreated the socket; a new channel serves it");
            channels.remove(channel);
            adopt(c);
            result.completeExceptionally(failure);
            return;
        }
        channel.attr(MOVED).set(null);
        try {
            FileStatus.setNonBlocking(fd, true);
        } catch (NativeException e) {
            failure.addSuppressed(e);
        }
        registerAnswered(loop, channel).addListener(r -> {
            channel.attr(MOVING).set(null);
            if (r.isSuccess()) {
                channel.config().setAutoRead(true);
            } else {
                failure.addSuppressed(new IOException("cannot put " + channel + " back in its event loop; the connection is closed",
                        r.cause()));
                closeUnregistered(channel, c);
            }
            result.completeExceptionally(failure);
        });
    }

    /**
     * Registers the channel with a promise whose listeners run in the thread that completes it: the loop itself once
     * registered, as with a plain {@code register}. A loop that was shut down refuses the registration, and it would
     * refuse to run the listeners of a promise bound to it as well, so that nobody would hear of the refusal.
     */
    private static ChannelFuture registerAnswered(EventLoopGroup loops, Channel channel) {
        return loops.register(new DefaultChannelPromise(channel, ImmediateEventExecutor.INSTANCE));
    }

    /**
     * Closes the fd of a channel no loop took: {@code close()} would go through a pipeline that runs on the dead loop.
     * Its close listeners, ours and the channel group's, may never run either, so what they would do is done here.
     */
    private void closeUnregistered(Channel channel, Connection c) {
        if (channel.isOpen()) channel.unsafe().closeForcibly();
        c.closedElsewhere();
        channels.remove(channel);
        NettyDrain d = drain;
        if (d != null) d.closed(c, channel);
    }

    /**
     * Asked of every channel by {@link #drain}, as a user event through its pipeline: the application's handler moves
     * the channel to {@code peer} with {@link #transfer} at its next message boundary (at once if it holds no bytes
     * of the connection). A handler that ignores it leaves the channel here, reported as stayed.
     */
    public record DrainRequest(String peer) {
    }

    /**
     * Moves every channel off this server, for a deploy: the server stops taking transfers, its weight at the proxy
     * goes to 0 (asked here, before this returns: call it off the event loops), and each channel served now gets a
     * {@link DrainRequest} for a peer {@code peers} chooses; a channel whose transfer rolls back is asked again (three
     * times in all). The result comes when every channel has moved or closed, or at {@code within}, naming each that
     * stayed and why. The proxy's TCP health checks are connections too: one still open at {@code within} is reported
     * as stayed (a handler can leave alone a channel that never received anything). The server stays drained.
     */
    public CompletableFuture<DrainReport> drain(PeerSelector peers, Duration within) {
        NettyDrain run;
        List<Channel> served;
        synchronized (this) {
            if (closed) return CompletableFuture.failedFuture(new IOException("the Netty adapter of " + server.id() + " is closed"));
            run = new NettyDrain(peers, within, server.closeToNewConnections());
            NettyDrain previous = drain;
            drain = run;
            if (previous != null) previous.end("superseded by a new drain");
            served = List.copyOf(channels);
        }
        CompletableFuture.delayedExecutor(within.toNanos(), TimeUnit.NANOSECONDS).execute(run::finishAtDeadline);
        // Once settled, it need hear nothing more of closes, arrivals and transfers.
        run.result.whenComplete((report, failure) -> {
            synchronized (this) {
                if (drain == run) drain = null;
            }
        });
        run.start(served);
        return run.result;
    }

    /**
     * One drain, keyed by connection (a rollback that recreates a socket gives its connection a new channel). Peers are
     * chosen and requests fired outside its lock; the result is completed outside it too.
     */
    private final class NettyDrain {
        static final int ATTEMPTS = 3;

        /** A connection the drain waits for: the channel serving it now, and its asks so far. */
        private final class Entry {
            Channel channel;
            int attempts;
            String lastFailure;
            /** Its last transfer rolled back onto a recreated socket whose channel is not registered yet. */
            boolean awaitingChannel;
        }

        final CompletableFuture<DrainReport> result = new CompletableFuture<>();
        final PeerSelector peers;
        final Duration within;
        final Optional<String> weightProblem;
        final long started = System.nanoTime();
        final Map<Connection, Entry> pending = new HashMap<>();
        final List<DrainReport.Stayed> stayed = new ArrayList<>(), lost = new ArrayList<>();
        int moved;
        /** Every channel of the first pass is pending: from now on an empty pending set ends the drain. */
        boolean everyoneCounted;

        NettyDrain(PeerSelector peers, Duration within, Optional<String> weightProblem) {
            this.peers = peers;
            this.within = within;
            this.weightProblem = weightProblem;
        }

        void start(List<Channel> served) {
            List<Entry> ask = new ArrayList<>();
            synchronized (this) {
                for (Channel channel : served) {
                    // Closed since the copy: its close may have come before its entry, so it is not waited for.
                    if (!channel.isOpen()) continue;
                    Entry e = new Entry();
                    e.channel = channel;
                    pending.put(connection(channel), e);
                    // One a transfer is moving already is not asked: that transfer's outcome answers for it.
                    if (channel.attr(MOVING).get() == null) ask.add(e);
                }
                everyoneCounted = true;
            }
            for (Entry e : ask) ask(e);
            finishIfDone();
        }

        /** Chooses a peer (outside the lock) and fires a request into the entry's channel; one no peer can take stays. */
        private void ask(Entry e) {
            Optional<String> peer;
            String problem = null;
            try {
                peer = peers.choose(server.peers().keySet());
            } catch (IOException | RuntimeException x) {
                peer = Optional.empty();
                problem = "no peer chosen: " + x.getMessage();
            }
            synchronized (this) {
                Connection c = connection(e.channel);
                if (result.isDone() || pending.get(c) != e) return;
                e.attempts++;
                if (peer.isEmpty()) {
                    stay(c, problem != null ? problem : "no peer to move it to");
                } else {
                    String to = peer.get();
                    Channel channel = e.channel;
                    try {
                        channel.eventLoop().execute(() -> channel.pipeline().fireUserEventTriggered(new DrainRequest(to)));
                    } catch (RuntimeException x) { // its event loop is shut down
                        stay(c, "cannot ask it: " + x);
                    }
                }
            }
            finishIfDone();
        }

        /** What a transfer of the connection came to (whoever asked for it). */
        void transferred(Connection c, Throwable failure) {
            if (failure instanceof AlreadyMovingException) return;
            Entry retry = null;
            synchronized (this) {
                Entry e = pending.get(c);
                if (e == null || result.isDone()) return;
                if (failure == null) {
                    pending.remove(c);
                    moved++;
                } else if (failure instanceof TransferException te && !te.stayedOnSource()) {
                    pending.remove(c);
                    lost.add(new DrainReport.Stayed(c, failure.getMessage()));
                } else {
                    e.lastFailure = failure.getMessage();
                    if (e.attempts >= ATTEMPTS) {
                        stay(c, "its " + ATTEMPTS + " transfers failed, the last: " + e.lastFailure);
                    } else if (e.channel.attr(MOVING).get() != null) {
                        e.awaitingChannel = true; // its socket was recreated: asked again once its new channel serves it
                    } else {
                        retry = e;
                    }
                }
            }
            if (retry != null) ask(retry);
            finishIfDone();
        }

        /** A new channel serves the connection (a rollback recreated its socket). */
        void served(Connection c, Channel channel) {
            Entry retry = null;
            synchronized (this) {
                Entry e = pending.get(c);
                if (e == null || result.isDone()) return;
                e.channel = channel;
                if (e.awaitingChannel) {
                    e.awaitingChannel = false;
                    retry = e;
                }
            }
            if (retry != null) ask(retry);
        }

        /** The client or the application ended the connection: nothing left to move. */
        void closed(Connection c, Channel channel) {
            synchronized (this) {
                Entry e = pending.get(c);
                if (e == null || e.channel != channel) return;
                pending.remove(c);
            }
            finishIfDone();
        }

        void finishAtDeadline() {
            synchronized (this) {
                if (result.isDone()) return;
                for (Map.Entry<Connection, Entry> p : pending.entrySet()) {
                    Entry e = p.getValue();
                    stayed.add(new DrainReport.Stayed(p.getKey(), e.lastFailure != null
                            ? "not moved within " + within.toMillis() + " ms; its last transfer failed: " + e.lastFailure
                            : "not moved within " + within.toMillis() + " ms: its handler did not move it on the drain's request"));
                }
                pending.clear();
            }
            finishIfDone();
        }

        void end(String why) {
            result.completeExceptionally(new IllegalStateException(why));
        }

        /** Under the lock. */
        private void stay(Connection c, String why) {
            pending.remove(c);
            stayed.add(new DrainReport.Stayed(c, why));
        }

        private void finishIfDone() {
            DrainReport report;
            synchronized (this) {
                if (!everyoneCounted || !pending.isEmpty() || result.isDone()) return;
                report = new DrainReport(moved, List.copyOf(stayed), List.copyOf(lost), Duration.ofNanos(System.nanoTime() - started),
                        weightProblem);
            }
            result.complete(report);
        }
    }

    /**
     * Stops taking connections; channels already served stay in their loops (the application closes them). A drain
     * still running fails.
     */
    @Override
    public void close() {
        NettyDrain d;
        synchronized (this) {
            closed = true;
            d = drain;
        }
        if (d != null) d.end("the Netty adapter of " + server.id() + " was closed");
        try {
            acceptor.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
