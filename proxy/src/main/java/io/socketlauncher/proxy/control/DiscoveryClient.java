package io.socketlauncher.proxy.control;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A server's membership at the proxy: joins with HELLO, learns the servers joined before it (PEER_LIST), then
 * hears PEER_JOIN and PEER_LEAVE for as long as it stays. One thread (from the given factory, so in its network
 * namespace) owns the connection: it sends PING whenever the proxy has been silent for the heartbeat interval, and
 * takes the proxy for gone after {@value #UNANSWERED_PINGS} such PINGs in a row without a frame in return (a
 * loaded machine can stall a healthy proxy for a while). A lost connection is re-established
 * every {@code retry}; each new join starts from a fresh PEER_LIST, which replaces what the listener knew.
 * Closing the client closes the connection, which is how a server leaves.
 */
public final class DiscoveryClient implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DiscoveryClient.class.getName());
    static final int UNANSWERED_PINGS = 3;
    /**
     * The most servers one proxy may announce. Not a limit anyone should meet (the control server admits 1,024 by
     * default): it keeps a broken proxy from growing a server's peer table without end.
     */
    static final int MAX_PEERS = 1 << 16;

    /** What the server learns; called on the client's thread, one call at a time. */
    public interface Listener {
        /** The servers joined now, besides this one: replaces everything heard before. */
        void peers(List<ServerInfo> servers);

        void joined(ServerInfo server);

        void left(String id);
    }

    private final InetSocketAddress proxy;
    private final byte[] key;
    private final ServerInfo self;
    private final Listener listener;
    private final Duration timeout;
    private final Duration heartbeat;
    private final Duration retry;
    private final CompletableFuture<Void> joined = new CompletableFuture<>();
    private volatile Exception lastFailure;
    private final Thread thread;
    private volatile Socket socket;
    private volatile boolean closed;

    private DiscoveryClient(InetSocketAddress proxy, byte[] key, ServerInfo self, Listener listener, Duration timeout,
                            Duration heartbeat, Duration retry, ThreadFactory threads) {
        Wire.checkKey(key);
        this.proxy = Objects.requireNonNull(proxy, "proxy");
        this.key = key.clone();
        this.self = Objects.requireNonNull(self, "self");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.timeout = timeout;
        this.heartbeat = heartbeat;
        this.retry = retry;
        this.thread = threads.newThread(this::run);
        thread.setName("sl-discovery-" + self.id());
        thread.setDaemon(true);
    }

    /**
     * Starts joining in the background. {@code timeout} bounds connect, handshake and the PEER_LIST reply;
     * {@code heartbeat} is how long the proxy may be silent before a PING (it must stay well under the control
     * server's idle timeout, 5 minutes by default).
     */
    public static DiscoveryClient start(InetSocketAddress proxy, byte[] key, ServerInfo self, Listener listener,
                                        ThreadFactory threads, Duration timeout, Duration heartbeat, Duration retry) {
        DiscoveryClient client = new DiscoveryClient(proxy, key, self, listener, timeout, heartbeat, retry, threads);
        client.thread.start();
        return client;
    }

    /**
     * Waits until the server has joined once (a refusal or an unreachable proxy is retried meanwhile); after
     * {@code within} the exception names the last reason it has not.
     */
    public void awaitJoined(Duration within) throws IOException, InterruptedException {
        try {
            joined.get(within.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            Exception last = lastFailure;
            throw new IOException("server " + self.id() + " did not join through " + Endpoints.format(proxy) + " within "
                    + within.toMillis() + " ms" + (last != null ? ": " + last.getMessage() : ""), last);
        } catch (ExecutionException e) {
            throw new IOException("discovery of " + self.id() + " ended: " + e.getCause().getMessage(), e.getCause());
        }
    }

    private void run() {
        while (!closed) {
            try {
                session();
            } catch (IOException | RuntimeException e) {
                if (closed) {
                    return;
                }
                lastFailure = e;
                LOG.log(System.Logger.Level.WARNING, "server " + self.id() + ": discovery through "
                        + Endpoints.format(proxy) + " lost (" + e.getMessage() + "); retrying in " + retry.toMillis() + " ms");
            }
            try {
                Thread.sleep(retry);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One connection: join, then listen until it ends. */
    private void session() throws IOException {
        Socket s = new Socket();
        socket = s;
        try (s) {
            if (closed) {
                return;
            }
            s.setTcpNoDelay(true);
            s.connect(proxy, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            ControlChannel channel = ControlChannel.client(s, key, timeout);
            int request = 1;
            channel.send(MessageType.HELLO, request, DiscoveryMessages.hello(self));
            List<ServerInfo> servers = new ArrayList<>();
            Set<String> peers = new HashSet<>();
            for (boolean more = true; more; ) {
                Frame f = channel.receive();
                MessageType type = f.messageType();
                if (type == MessageType.ERROR) {
                    Messages.Error error = Messages.decodeError(f.payload());
                    throw new ControlException("HELLO of server " + self.id() + " refused by " + Endpoints.format(proxy)
                            + ": " + error.message(), error.code());
                }
                if (type != MessageType.PEER_LIST || f.requestId() != request) {
                    throw new ProtocolException(ErrorCode.UNEXPECTED_TYPE, "expected PEER_LIST in reply to HELLO, got " + type);
                }
                DiscoveryMessages.PeerListPart part = DiscoveryMessages.decodePeerList(f.payload());
                for (ServerInfo server : part.servers()) {
                    if (peers.add(server.id()) && peers.size() > MAX_PEERS) throw tooManyPeers();
                }
                servers.addAll(part.servers());
                more = part.more();
            }
            listener.peers(List.copyOf(servers));
            lastFailure = null;
            joined.complete(null);
            channel.idleTimeout(heartbeat);
            int unanswered = 0;
            while (!closed) {
                Frame f = channel.poll();
                if (f == null) {
                    if (unanswered == UNANSWERED_PINGS) {
                        throw new IOException("the proxy answered none of " + UNANSWERED_PINGS + " PINGs in "
                                + UNANSWERED_PINGS * heartbeat.toMillis() + " ms");
                    }
                    channel.send(MessageType.PING, ++request, new byte[0]);
                    unanswered++;
                    continue;
                }
                unanswered = 0;
                switch (f.messageType()) {
                    case PONG -> Messages.requireEmpty("PONG", f.payload());
                    case PEER_JOIN -> {
                        ServerInfo server = DiscoveryMessages.decodePeerJoin(f.payload());
                        if (peers.add(server.id()) && peers.size() > MAX_PEERS) throw tooManyPeers();
                        listener.joined(server);
                    }
                    case PEER_LEAVE -> {
                        String id = DiscoveryMessages.decodePeerLeave(f.payload());
                        peers.remove(id);
                        listener.left(id);
                    }
                    case ERROR -> {
                        Messages.Error error = Messages.decodeError(f.payload());
                        throw new ControlException("the proxy ended discovery: " + error.message(), error.code());
                    }
                    default -> throw new ProtocolException(ErrorCode.UNEXPECTED_TYPE,
                            f.messageType() + " is not a discovery message");
                }
            }
        } catch (EOFException e) {
            if (!closed) {
                throw new IOException("the proxy closed the discovery connection", e);
            }
        } catch (IOException e) {
            if (!closed) {
                throw e;
            }
        }
    }

    private static ProtocolException tooManyPeers() {
        return new ProtocolException(ErrorCode.MALFORMED, "the proxy announced more than " + MAX_PEERS
                + " servers; giving up this connection to it");
    }

    /** Leaves: the proxy sees the connection close and tells the other servers. */
    @Override
    public void close() throws IOException {
        closed = true;
        Socket s = socket;
        if (s != null) {
            s.close();
        }
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        joined.completeExceptionally(new IOException("discovery client of " + self.id() + " closed"));
    }
}
