package io.socketlauncher.proxy.control;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.socketlauncher.sys.RealTimeThreads;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;

/**
 * Serves {@link ProxyOperations} over the authenticated control protocol, requests on a connection answered in
 * order. A connection has a virtual thread until its peer authenticates, then by default a platform thread that
 * answers REDIRECT under SCHED_FIFO when the process may ({@link RealTimeThreads}): a migration's source waits for
 * REDIRECTED while its client gets no ACK, and on a busy host an ordinary thread, or a virtual one (woken by the
 * poller thread, then run by a carrier, neither real-time), waits milliseconds for a CPU now and then. It blocks
 * between requests. Unauthenticated peers never get a platform thread.
 *
 * <p>A protocol violation is answered with an ERROR and the connection closed; it never reaches the operations, so
 * the proxy and its flows are untouched. A request the operations refuse (unknown flow, failed map update) is
 * answered with an ERROR and the connection stays open.
 *
 * <p>The operations are called concurrently from several connections and must be thread-safe.
 *
 * <p>Servers of live migration join here too (HELLO): the connection they joined on stays open, and the
 * {@link ServerRegistry} pushes PEER_JOIN and PEER_LEAVE over it as other servers come and go.
 */
public final class ControlServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ControlServer.class.getName());
    private static final String REJECTED_METRIC = "socketlauncher.control.rejected";
    private static final String REQUESTS_METRIC = "socketlauncher.control.requests";
    private static final Duration LINGER = Duration.ofMillis(500);

    private final ServerSocketChannel listener;
    private final byte[] key;
    private final ProxyOperations operations;
    private final MeterRegistry registry;
    private final Duration idleTimeout;
    private final Duration frameTimeout;
    private final Semaphore connectionSlots;
    private final ThreadFactory threads;
    private final ThreadFactory connectionThreads;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final ServerRegistry joined;
    private final InetSocketAddress address;
    private final Thread acceptor;
    private volatile boolean closed;

    private ControlServer(Builder b, ServerSocketChannel listener) throws IOException {
        this.listener = listener;
        this.key = b.key.clone();
        this.operations = b.operations;
        this.registry = b.registry;
        this.idleTimeout = b.idleTimeout;
        this.frameTimeout = b.frameTimeout;
        this.connectionSlots = new Semaphore(b.maxConnections);
        this.threads = b.threads;
        this.connectionThreads = b.connectionThreads;
        this.joined = new ServerRegistry(b.maxServers, b.threads);
        listener.configureBlocking(true);
        this.address = (InetSocketAddress) listener.getLocalAddress();
        if (address == null) {
            throw new IllegalArgumentException("the control listener is not bound");
        }
        this.acceptor = threads.newThread(this::acceptLoop);
        acceptor.setName("sl-control-accept-" + address.getPort());
        acceptor.start();
    }

    /** Binds {@code listen} on the calling thread (so in its network namespace) and serves with defaults. */
    public static ControlServer start(InetSocketAddress listen, byte[] key, ProxyOperations operations)
            throws IOException {
        return builder().key(key).operations(operations).start(listen);
    }

    /**
     * Serves on a listener that is already bound, with defaults. Use this when the listener must live in another
     * network namespace: create and bind it on a thread inside that namespace, then hand it over.
     */
    public static ControlServer start(ServerSocketChannel bound, byte[] key, ProxyOperations operations)
            throws IOException {
        return builder().key(key).operations(operations).start(bound);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The address the server listens on (with the actual port if it was bound to port 0). */
    public InetSocketAddress address() {
        return address;
    }

    /** The servers joined through this control server (HELLO), in the order they joined. */
    public List<ServerInfo> servers() {
        return joined.servers();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        try {
            acceptor.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // After the acceptor has stopped, so that no connection is added behind our back.
        for (Socket s : connections) {
            s.close();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "control accept on " + address + " failed", e);
                pauseAfterAcceptFailure();
                continue;
            }
            Socket socket = channel.socket();
            if (!connectionSlots.tryAcquire()) {
                threads.newThread(() -> refuseBusy(socket)).start();
                continue;
            }
            connections.add(socket);
            // Virtual until authenticated: anyone may open connections, only peers with the key get a platform thread.
            Thread worker = threads.newThread(() -> {
                try {
                    serve(socket);
                } finally {
                    connections.remove(socket);
                    connectionSlots.release();
                }
            });
            worker.setName("sl-control-" + socket.getRemoteSocketAddress());
            worker.start();
        }
    }

    /** Out of file descriptors, accept fails at once again: don't spin. */
    private static void pauseAfterAcceptFailure() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void refuseBusy(Socket socket) {
        try (socket) {
            rejected(ErrorCode.TOO_MANY_CONNECTIONS);
            ControlChannel.server(socket, frameTimeout, frameTimeout).sendError(ErrorCode.TOO_MANY_CONNECTIONS, 0,
                    "the control server already serves " + connections.size() + " connections; try again later");
            lingerAfterError(socket);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "refusing a control connection failed", e);
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            ControlChannel channel = ControlChannel.server(socket, frameTimeout, frameTimeout);
            try {
                channel.acceptHandshake(key);
                converse(channel, socket);
            } catch (ProtocolException e) {
                // Its peers hear PEER_LEAVE now, not after the linger below.
                joined.leave(channel);
                rejected(e.code());
                // DEBUG, not INFO: anyone can send junk, and the rejection counter already tells operators.
                LOG.log(System.Logger.Level.DEBUG, () -> "control peer " + socket.getRemoteSocketAddress()
                        + " rejected: " + e.code() + ": " + e.getMessage());
                channel.sendError(e.code(), e.requestId(), e.getMessage());
                lingerAfterError(socket);
            } finally {
                joined.leave(channel);
            }
        } catch (EOFException e) {
            // The peer closed between two frames: the normal end of a connection.
        } catch (IOException e) {
            if (!closed) {
                LOG.log(System.Logger.Level.DEBUG, () -> "control connection " + socket.getRemoteSocketAddress()
                        + " ended: " + e);
            }
        }
    }

    /** An authenticated peer's requests, answered on a connection thread (one that can be real-time) until it ends. */
    private void converse(ControlChannel channel, Socket socket) throws IOException {
        FutureTask<Void> conversation = new FutureTask<>(() -> {
            boolean realTime = RealTimeThreads.enter();
            channel.idleTimeout(idleTimeout);
            while (true) {
                handle(channel, channel.receive(), realTime);
            }
        });
        Thread thread = connectionThreads.newThread(conversation);
        thread.setName("sl-control-" + socket.getRemoteSocketAddress());
        thread.start();
        try {
            conversation.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            socket.close();
            throw new InterruptedIOException("control connection " + socket.getRemoteSocketAddress() + " interrupted");
        } catch (ExecutionException e) {
            switch (e.getCause()) {
                case IOException io -> throw io;
                case RuntimeException r -> throw r;
                case Error error -> throw error;
                case Throwable t -> throw new IOException(t);
            }
        }
    }

    /**
     * Closing with unread bytes in the receive queue makes the kernel send a reset, which can destroy the error
     * reply before the peer reads it. So: send FIN, discard a bounded amount of what the peer still sends, close.
     */
    private static void lingerAfterError(Socket socket) throws IOException {
        socket.shutdownOutput();
        socket.setSoTimeout((int) LINGER.toMillis());
        byte[] sink = new byte[4096];
        long deadline = System.nanoTime() + LINGER.toNanos();
        int discarded = 0;
        while (discarded < Wire.MAX_PAYLOAD && System.nanoTime() < deadline) {
            int n;
            try {
                n = socket.getInputStream().read(sink);
            } catch (SocketTimeoutException e) {
                return;
            }
            if (n < 0) {
                return;
            }
            discarded += n;
        }
    }

    private void handle(ControlChannel channel, Frame frame, boolean realTime) throws IOException {
        MessageType type = frame.messageType();
        // Only REDIRECT (and PING) is answered at real-time priority. The rest can walk whole tables (listing
        // 100,000 flows, removing a backend's reverse entries, rewriting a 65,537-slot Maglev ring): under
        // SCHED_FIFO that would keep ksoftirqd, and with it the data plane's deferred packets, off this CPU.
        boolean lowered = realTime && type != MessageType.REDIRECT && type != MessageType.PING;
        if (lowered) RealTimeThreads.leave(true);
        try {
            dispatch(channel, frame, type);
        } finally {
            if (lowered) RealTimeThreads.enter();
        }
    }

    private void dispatch(ControlChannel channel, Frame frame, MessageType type) throws IOException {
        byte[] payload = frame.payload();
        int id = frame.requestId();
        // Decode fully before calling the operations: a malformed request closes the connection untouched.
        try {
            switch (type) {
                case PING -> {
                    Messages.requireEmpty("PING", payload);
                    channel.send(MessageType.PONG, id, new byte[0]);
                }
                case FLOWS -> {
                    int limit = Messages.decodeFlows(payload);
                    List<FlowInfo> flows = operations.flows(limit);
                    channel.send(MessageType.FLOW_LIST, id,
                            Messages.flowList(flows.size() > limit ? flows.subList(0, limit) : flows));
                }
                case BACKENDS -> {
                    Messages.requireEmpty("BACKENDS", payload);
                    List<BackendInfo> backends = operations.backends();
                    if (backends.size() > Wire.MAX_BACKENDS_PER_REPLY) {
                        throw new IOException("the proxy has " + backends.size() + " backends; one BACKEND_LIST"
                                + " carries at most " + Wire.MAX_BACKENDS_PER_REPLY);
                    }
                    channel.send(MessageType.BACKEND_LIST, id, Messages.backendList(backends));
                }
                case REDIRECT -> {
                    Messages.Redirect r = Messages.decodeRedirect(payload);
                    FlowInfo now = operations.redirect(r.flow(), r.backendId());
                    channel.send(MessageType.REDIRECTED, id, Messages.redirected(now));
                }
                case ADD_BACKEND -> {
                    Messages.AddBackend a = Messages.decodeAddBackend(payload);
                    operations.addBackend(a.vip(), a.backendId(), a.address(), a.weight());
                    channel.send(MessageType.OK, id, new byte[0]);
                }
                case REMOVE_BACKEND -> {
                    operations.removeBackend(Messages.decodeRemoveBackend(payload));
                    channel.send(MessageType.OK, id, new byte[0]);
                }
                case HELLO -> {
                    ServerInfo server = DiscoveryMessages.decodeHello(payload);
                    joined.join(server, channel, id);
                }
                case SET_WEIGHT -> {
                    Messages.SetWeight s = Messages.decodeSetWeight(payload);
                    operations.setWeight(s.backendId(), s.weight());
                    channel.send(MessageType.OK, id, new byte[0]);
                }
                default -> throw new ProtocolException(ErrorCode.UNEXPECTED_TYPE, id,
                        type + " is not a request the proxy's control server answers");
            }
            counter(REQUESTS_METRIC, type.name()).increment();
        } catch (ProtocolException e) {
            throw e.requestId() == 0 && id != 0 ? new ProtocolException(e.code(), id, e.getMessage()) : e;
        } catch (IllegalArgumentException e) {
            refuse(channel, ErrorCode.INVALID_ARGUMENT, id, type, e.getMessage());
        } catch (IOException e) {
            refuse(channel, ErrorCode.OPERATION_FAILED, id, type, e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "proxy operation " + type + " failed unexpectedly", e);
            refuse(channel, ErrorCode.INTERNAL_ERROR, id, type, e.toString());
        }
    }

    private void refuse(ControlChannel channel, ErrorCode code, int id, MessageType type, String message)
            throws IOException {
        rejected(code);
        channel.sendError(code, id, Objects.requireNonNullElse(message, type + " failed"));
    }

    private void rejected(ErrorCode code) {
        counter(REJECTED_METRIC, code.name()).increment();
    }

    private Counter counter(String name, String tag) {
        String tagName = name.equals(REJECTED_METRIC) ? "reason" : "type";
        return Counter.builder(name).tag(tagName, tag).register(registry);
    }

    /** Everything but the key and the operations has a default. */
    public static final class Builder {
        private byte[] key;
        private ProxyOperations operations;
        private MeterRegistry registry = Metrics.globalRegistry;
        private Duration idleTimeout = Duration.ofMinutes(5);
        private Duration frameTimeout = Duration.ofSeconds(5);
        /**
         * Joined servers hold a connection each for as long as they stay, and a migrating server opens one per
         * redirect in flight: the limit leaves room for both beyond the joined servers' own limit.
         */
        private int maxConnections = 4096;
        private int maxServers = 1024;
        private ThreadFactory threads = Thread.ofVirtual().factory();
        private ThreadFactory connectionThreads = Thread.ofPlatform().daemon().factory();

        private Builder() {
        }

        public Builder key(byte[] key) {
            Wire.checkKey(key);
            this.key = key.clone();
            return this;
        }

        public Builder operations(ProxyOperations operations) {
            this.operations = Objects.requireNonNull(operations, "operations");
            return this;
        }

        public Builder meterRegistry(MeterRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /** How long an authenticated connection may stay silent between two requests. */
        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = positive(timeout, "idle timeout");
            return this;
        }

        /** How long the handshake, and each frame once its first byte arrived, may take to arrive whole. */
        public Builder frameTimeout(Duration timeout) {
            this.frameTimeout = positive(timeout, "frame timeout");
            return this;
        }

        public Builder maxConnections(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("max connections must be at least 1, got " + max);
            }
            this.maxConnections = max;
            return this;
        }

        /** How many servers may be joined (HELLO) at once; more are refused with OPERATION_FAILED. */
        public Builder maxServers(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("max servers must be at least 1, got " + max);
            }
            this.maxServers = max;
            return this;
        }

        /**
         * Threads for the acceptor and the connections; operations run on the latter. Virtual ones are never made
         * real-time. By default the connections have platform threads, the rest virtual ones.
         */
        public Builder threadFactory(ThreadFactory threads) {
            this.threads = Objects.requireNonNull(threads, "threads");
            this.connectionThreads = threads;
            return this;
        }

        public ControlServer start(InetSocketAddress listen) throws IOException {
            ServerSocketChannel listener = ServerSocketChannel.open();
            try {
                listener.bind(listen);
                return start(listener);
            } catch (IOException | RuntimeException e) {
                listener.close();
                throw e;
            }
        }

        public ControlServer start(ServerSocketChannel bound) throws IOException {
            if (key == null || operations == null) {
                throw new IllegalStateException("a control server needs a key and operations");
            }
            return new ControlServer(this, bound);
        }

        private static Duration positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive, got " + d);
            }
            return d;
        }
    }
}
