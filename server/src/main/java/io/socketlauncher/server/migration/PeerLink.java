package io.socketlauncher.server.migration;

import io.socketlauncher.proxy.control.ControlChannel;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.Frame;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.ProtocolException;
import io.socketlauncher.proxy.control.ServerMessages;
import io.socketlauncher.server.Peer;
import java.io.Closeable;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Authenticated channels to one peer's migration agent, kept open between migrations (a handshake costs two
 * round trips and two HMAC keys). A channel carries one migration at a time; concurrent migrations to the same
 * peer open more, and {@link #fill} opens them ahead of need.
 */
final class PeerLink implements Closeable {
    private final Peer peer;
    private final byte[] key;
    private final Duration connectTimeout;
    private final ChannelPool<Session> pool;

    PeerLink(Peer peer, byte[] key, Duration connectTimeout) {
        this.peer = peer;
        this.key = key.clone();
        this.connectTimeout = connectTimeout;
        this.pool = new ChannelPool<>("the link to peer " + peer.id(), new ChannelPool.Channels<>() {
            @Override
            public Session open() throws IOException {
                return connect();
            }

            @Override
            public boolean close(Session s) {
                return s.closeChannel();
            }
        }, null);
    }

    Peer peer() {
        return peer;
    }

    /** A pooled channel if there is one, else a new one. */
    Session acquire() throws IOException {
        Session s = pool.takeIdle();
        if (s == null) return open();
        s.pooled = true;
        return s;
    }

    /** A new channel, never one from the pool. */
    Session open() throws IOException {
        return pool.open();
    }

    private Session connect() throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(peer.agent(), (int) connectTimeout.toMillis());
            return new Session(ControlChannel.client(socket, key, connectTimeout));
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw new IOException("cannot reach the agent of peer " + peer.id() + " at " + peer.agent() + ": " + e.getMessage(), e);
        }
    }

    /** Returns a channel whose last exchange completed cleanly; a broken one is closed. */
    void release(Session s) {
        if (s.broken) s.close();
        else pool.put(s);
    }

    /** Opens channels until {@code target} are open (idle or in use); returns how many it opened. */
    int fill(int target) throws IOException {
        return pool.fill(target);
    }

    /**
     * One round of upkeep over the channels idle now ({@link ChannelPool#upkeep}): beyond {@code keep} open, those
     * unused for {@code unusedFor} are closed (a burst's channels each hold a thread at the peer), the others pinged.
     * Returns how many were closed.
     */
    int keepAlive(int keep, Duration unusedFor) {
        return pool.upkeep(keep, unusedFor.toNanos(), s -> s.call(MessageType.PING, new byte[0], MessageType.PONG, connectTimeout));
    }

    int openChannels() {
        return pool.openChannels();
    }

    /** One PING exchange on a pooled channel, as a migration's exchanges go. */
    void ping() throws IOException {
        Session s = acquire();
        try {
            s.call(MessageType.PING, new byte[0], MessageType.PONG, connectTimeout);
        } finally {
            release(s);
        }
    }

    @Override
    public void close() {
        pool.close();
    }

    /** A pooled channel the peer had closed while it lay idle: the request never reached it, so it may go again. */
    static final class StaleChannelException extends IOException {
        StaleChannelException(String message) {
            super(message);
        }
    }

    /** One channel; after any failure but a refusal it is marked broken and must not be reused. */
    final class Session {
        private final ControlChannel channel;
        /** It was taken from the pool: it may have gone stale while idle. */
        boolean pooled;
        private int lastRequest;
        boolean broken;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Session(ControlChannel channel) {
            this.channel = channel;
        }

        /** Sends a frame that gets no reply of its own (XFER_PART). */
        void send(MessageType type, byte[] payload) throws IOException {
            try {
                channel.send(type, ++lastRequest, payload);
            } catch (IOException | RuntimeException e) {
                fail();
                throw e;
            }
        }

        /** A channel whose state is unknown is closed at once: the peer sees the end and stops waiting on it. */
        void fail() {
            broken = true;
            close();
        }

        /** A request and its reply within {@code timeout}; an ERROR reply is a {@link PeerRefusedException}. */
        byte[] call(MessageType type, byte[] payload, MessageType expected, Duration timeout) throws IOException {
            return reply(request(type, payload), type, expected, timeout);
        }

        /** The first half of {@link #call}, for work done while the peer answers; returns the request's id. */
        int request(MessageType type, byte[] payload) throws IOException {
            int id = ++lastRequest;
            try {
                channel.send(type, id, payload);
                return id;
            } catch (IOException | RuntimeException e) {
                fail();
                throw e;
            }
        }

        /** The second half of {@link #call}: the reply to request {@code id} of {@code type}. */
        byte[] reply(int id, MessageType type, MessageType expected, Duration timeout) throws IOException {
            try {
                channel.idleTimeout(timeout);
                Frame reply = channel.receive();
                if (reply.requestId() == 0 && reply.messageType() == MessageType.ERROR && pooled) {
                    // What a peer says as it closes a channel idle past its timeout: it was said before our request
                    // arrived, and the peer read nothing after it.
                    throw new StaleChannelException("peer " + peer.id() + " had closed the pooled channel: "
                            + ServerMessages.decodeError(reply.payload()).message());
                }
                if (reply.requestId() != id) {
                    throw new ProtocolException(ErrorCode.MALFORMED, "reply to request " + reply.requestId() + " while waiting for " + id);
                }
                MessageType got = reply.messageType();
                if (got == MessageType.ERROR) {
                    ServerMessages.Refusal r = ServerMessages.decodeError(reply.payload());
                    ErrorCode code = ErrorCode.of(r.code());
                    if (code == null || code.closesConnection()) fail();
                    throw new PeerRefusedException("peer " + peer.id() + " refused " + type + ": " + r.message()
                            + " (" + (code != null ? code : "error " + r.code()) + ")");
                }
                if (got != expected) {
                    throw new ProtocolException(ErrorCode.UNEXPECTED_TYPE, "expected " + expected + " in reply to " + type + ", got " + got);
                }
                return reply.payload();
            } catch (PeerRefusedException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                fail();
                throw e;
            }
        }

        void close() {
            pool.discard(this);
        }

        private boolean closeChannel() {
            if (!closed.compareAndSet(false, true)) return false;
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing left to do with a channel we drop
            }
            return true;
        }
    }
}
