package io.socketlauncher.server;

import io.socketlauncher.proxy.control.BackendIds;
import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.proxy.control.DiscoveryClient;
import io.socketlauncher.proxy.control.ServerInfo;
import io.socketlauncher.proxy.control.ServerMessages;
import io.socketlauncher.server.agent.AgentPrivileges;
import io.socketlauncher.server.agent.RepairAgent;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.server.migration.MigrationAgent;
import io.socketlauncher.server.migration.MigrationContext;
import io.socketlauncher.server.migration.MigrationSource;
import io.socketlauncher.server.migration.MigrationTimeouts;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.NetworkNamespace;
import io.socketlauncher.sys.RealTimeThreads;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP server whose connections can move, live, to peer servers behind the same proxy: the client keeps its
 * connection and notices nothing. {@link #accept()} yields connections accepted here and connections that arrived
 * from a peer alike; {@link #transfer} hands one to a peer.
 *
 * <pre>{@code
 * try (LauncherServer server = LauncherServer.builder()
 *         .id("s1").namespace(ns).listen(new InetSocketAddress(myAddress, 7000))
 *         .service(vip).proxy(proxyControl).key(key).agent(new InetSocketAddress(myAddress, 7400))
 *         .peer(new Peer("s2", s2Agent)).build()) {
 *     Connection c = server.accept();
 *     ...
 *     server.transfer(c, "s2").join();   // the client is now served by s2
 * }
 * }</pre>
 *
 * The proxy runs in NAT mode: it knows this server as backend {@code id} at the listen address, and the flows by
 * the service address. Peers are configured explicitly ({@link Builder#peer}), learned from the proxy
 * ({@link Builder#discover()}: the server joins there and hears of every other server that joins or leaves), or both.
 */
public final class LauncherServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LauncherServer.class.getName());
    private static final Connection CLOSED = new Connection(-1, null, null, new byte[0], null);
    /** Under the proxy's and the peers' idle timeouts (5 and 10 minutes by default). */
    private static final Duration CHANNEL_KEEP_ALIVE = Duration.ofMinutes(1);

    private final String id;
    private final InetSocketAddress listen;
    private final Map<String, Peer> peers;
    private final Map<String, Peer> discovered = new ConcurrentHashMap<>();
    private final DiscoveryClient discovery;
    private final InetSocketAddress proxyControl;
    private final byte[] key;
    private final Duration proxyTimeout;
    private final int listenerFd;
    private final HoldPlane plane;
    private final AgentPrivileges privileges;
    private final MigrationContext context;
    private final MigrationAgent agent;
    private final MigrationSource source;
    private final ExecutorService migrations;
    /** Whether the migration threads raised themselves as they started: the process's privilege, the same for all. */
    private volatile boolean migrationThreadsRealTime;
    private final ScheduledExecutorService scheduler;
    /**
     * Opens channels to the peers and the proxy ahead of need and keeps them alive, and points rolled-back flows back
     * here when the proxy could not confirm it at once; an ordinary thread.
     */
    private final ScheduledExecutorService channels;
    private final int warmChannels;
    /**
     * Lock-free: the real-time agent thread hands arrivals to the application's ordinary threads here, and a lock
     * shared with an ordinary thread can make a real-time one wait for it behind the host's real-time work.
     */
    private final BlockingQueue<Connection> accepted = new LinkedTransferQueue<>();
    private final ServerMetrics metrics = new ServerMetrics(this);
    private final Thread acceptor;
    private volatile boolean acceptingTransfers = true;
    private volatile boolean closed;

    private LauncherServer(Builder b, ThreadFactory threads, int listenerFd, ServerSocket agentListener,
                           HoldPlane plane, AgentPrivileges privileges) {
        this.id = b.id;
        this.listen = b.listen;
        this.peers = Map.copyOf(b.peers);
        this.proxyControl = b.proxy;
        this.key = b.key.clone();
        this.proxyTimeout = b.timeouts.redirect();
        this.listenerFd = listenerFd;
        this.plane = plane;
        this.privileges = privileges;
        // Real-time like the migrations: its tasks (guard timeouts, the end of forwarding) take locks the migrations
        // need, the data plane's and its own queue's; an ordinary thread preempted holding one while real-time threads
        // keep both CPUs busy would hold them all up.
        ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, task -> threads.newThread(() -> {
            RealTimeThreads.enter();
            task.run();
        }));
        // Nearly every timer is cancelled: a hold's guard when the hold commits, a flow's forwarding when it leaves
        // again. Left in the queue, each would still wake this thread at its deadline, once per migration or more.
        timers.setRemoveOnCancelPolicy(true);
        this.scheduler = timers;
        // All started now and real-time from their first instruction, for good, idle in the pool too. A thread the pool
        // started on demand was born ordinary (it inherits the policy of the application thread that called
        // transfer()) and waited behind the real-time migrations before it could raise itself: 50-170 ms, up to
        // 0.65 s, in bench migrate's rate phase.
        AtomicInteger migrationThreads = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(b.migrationThreads, b.migrationThreads, 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), task -> {
                    Thread t = threads.newThread(() -> {
                        migrationThreadsRealTime = RealTimeThreads.enter();
                        task.run();
                    });
                    t.setName("sl-mig-" + id + "-" + migrationThreads.incrementAndGet());
                    return t;
                });
        pool.prestartAllCoreThreads();
        this.migrations = pool;
        this.channels = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread t = threads.newThread(task);
            t.setName("sl-channels-" + id);
            t.setDaemon(true);
            return t;
        });
        this.context = privileges == null
                ? new MigrationContext(b.id, b.service, b.listen, plane, b.proxy, b.key, b.timeouts, scheduler, channels)
                : new MigrationContext(b.id, b.service, b.listen, privileges, privileges, b.proxy, b.key, b.timeouts, scheduler,
                        channels);
        this.source = new MigrationSource(context);
        this.warmChannels = b.warmChannels;
        this.agent = MigrationAgent.start(context, agentListener, threads,
                (fd, client, local, app, from) -> {
                    metrics.arrived();
                    accepted.add(new Connection(fd, client, local, app, from));
                },
                this::admits);
        this.acceptor = threads.newThread(this::acceptLoop);
        acceptor.setName("sl-server-accept-" + id);
        acceptor.setDaemon(true);
        acceptor.start();
        this.discovery = b.discover ? DiscoveryClient.start(b.proxy, b.key, new ServerInfo(id, b.agent), new PeerDirectory(),
                threads, b.timeouts.prepare(), b.discoveryHeartbeat, b.discoveryRetry) : null;
        // The peers and the proxy may start after this server: the first rounds may find nobody, the next ones try again.
        channels.scheduleWithFixedDelay(() -> quietly(this::refreshChannels), 0, CHANNEL_KEEP_ALIVE.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Keeps {@link #discovered} as the proxy tells it; configured peers are never replaced. The channels to a peer that
     * left are closed, those to a new one opened ahead (a link to a peer back at another address is replaced as it is
     * next used: {@code MigrationContext.link}).
     */
    private final class PeerDirectory implements DiscoveryClient.Listener {
        @Override
        public void peers(List<ServerInfo> servers) {
            Map<String, Peer> now = new LinkedHashMap<>();
            for (ServerInfo s : servers) if (!s.id().equals(id)) now.put(s.id(), new Peer(s.id(), s.agent()));
            for (String peerId : discovered.keySet()) {
                if (!now.containsKey(peerId) && !peers.containsKey(peerId)) context.forget(peerId);
            }
            discovered.keySet().retainAll(now.keySet());
            discovered.putAll(now);
            openChannelsLater(now.values().stream().filter(p -> !peers.containsKey(p.id())).toList());
        }

        @Override
        public void joined(ServerInfo server) {
            if (server.id().equals(id)) return;
            Peer peer = new Peer(server.id(), server.agent());
            discovered.put(server.id(), peer);
            if (!peers.containsKey(server.id())) openChannelsLater(List.of(peer)); // else the configured one is the peer
        }

        @Override
        public void left(String peerId) {
            if (discovered.remove(peerId) != null && !peers.containsKey(peerId)) context.forget(peerId);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public String id() {
        return id;
    }

    public InetSocketAddress listenAddress() {
        return listen;
    }

    /**
     * The peers now: those configured and, with {@link Builder#discover()}, those joined at the proxy (a configured
     * peer wins over a discovered one of the same id). A snapshot; the next call sees joins and leaves since.
     */
    public Map<String, Peer> peers() {
        if (discovery == null) return peers;
        Map<String, Peer> all = new LinkedHashMap<>(discovered);
        all.putAll(peers);
        return Collections.unmodifiableMap(all);
    }

    /**
     * With {@link Builder#discover()}: waits until this server has joined at the proxy and heard who else has
     * (build() does not wait: the proxy may start after the servers). The server keeps trying in the background;
     * after {@code within} the exception names the last reason it has not joined (e.g. its id is joined already).
     */
    public void awaitJoined(Duration within) throws IOException, InterruptedException {
        if (discovery == null) throw new IllegalStateException("server " + id + " was built without discover()");
        discovery.awaitJoined(within);
    }

    private Peer peer(String peerId) {
        Peer p = peers.get(peerId);
        return p != null ? p : discovered.get(peerId);
    }

    /** The next connection, accepted here or arrived by transfer; blocks. */
    public Connection accept() throws IOException, InterruptedException {
        Connection c = accepted.take();
        if (c == CLOSED) {
            accepted.add(CLOSED);
            throw new IOException("server " + id + " is closed");
        }
        return c;
    }

    /** Like {@link #accept()}, or null after {@code timeout}. */
    public Connection accept(Duration timeout) throws IOException, InterruptedException {
        Connection c = accepted.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (c == CLOSED) {
            accepted.add(CLOSED);
            throw new IOException("server " + id + " is closed");
        }
        return c;
    }

    /**
     * Moves the connection to {@code peerId}. The future completes when the peer serves the client (the
     * connection is then gone from here), or fails with a {@link TransferException} after a rollback that left it
     * here, usable as before. No thread may use the connection until the future is done. Stages chained to the future
     * without {@code Async} run on the migration's thread, which is real-time when the process may raise it: chain
     * anything longer than a few microseconds with the {@code Async} variants.
     */
    public CompletableFuture<TransferReport> transfer(Connection connection, String peerId) {
        Peer peer = peer(peerId);
        if (peer == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no peer " + peerId + "; peers: " + peers().keySet()));
        }
        if (closed) return CompletableFuture.failedFuture(new IOException("server " + id + " is closed"));
        if (!connection.startMoving()) {
            return CompletableFuture.failedFuture(new IllegalStateException(connection + " is closed, moved or moving"));
        }
        long called = System.nanoTime();
        CompletableFuture<TransferReport> done = new CompletableFuture<>();
        try {
            migrations.execute(() -> {
                // The thread completes the future still real-time: leaving SCHED_FIFO before that let an ordinary task's
                // whole slice come first (1-4 ms at bench migrate's p99).
                try {
                    TransferReport report = source.migrate(connection, peer, called, migrationThreadsRealTime);
                    connection.moved(peerId);
                    metrics.migrated(report); // counted before anyone hears of it, as the failures are
                    done.complete(report);
                } catch (TransferException e) {
                    connection.stayed();
                    metrics.failed(e.stayedOnSource() ? ServerMetrics.Outcome.STAYED : ServerMetrics.Outcome.LOST);
                    done.completeExceptionally(e);
                } catch (RuntimeException | Error e) {
                    connection.stayed();
                    metrics.failed(ServerMetrics.Outcome.STAYED);
                    done.completeExceptionally(e);
                }
            });
        } catch (RuntimeException e) {
            connection.stayed();
            metrics.failed(ServerMetrics.Outcome.STAYED);
            done.completeExceptionally(e);
        }
        return done;
    }

    /**
     * Times one exchange with the peer's migration agent (PING, PONG) the way {@link TransferReport} times a migration:
     * from this call, through the hand-off to a migration thread, to the reply, on a pooled channel. A migration needs
     * at least one such exchange (XFER to XFERED), so this is the floor of its latency between these two servers.
     */
    public CompletableFuture<Duration> roundTrip(String peerId) {
        Peer peer = peer(peerId);
        if (peer == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no peer " + peerId + "; peers: " + peers().keySet()));
        }
        if (closed) return CompletableFuture.failedFuture(new IOException("server " + id + " is closed"));
        long called = System.nanoTime();
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    context.ping(peer);
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
                return Duration.ofNanos(System.nanoTime() - called);
            }, migrations);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new IOException("server " + id + " is closed", e));
        }
    }

    /**
     * A new control connection to the proxy, opened from inside this server's network namespace, for what the
     * application or a policy asks of the proxy besides migrations (backend loads, this server's weight). The
     * caller closes it.
     */
    public ControlClient proxyClient() throws IOException {
        return inNamespace(migrations, () -> ControlClient.connect(proxyControl, key, proxyTimeout), "connecting to the proxy");
    }

    /** Runs {@code task} on one of the server's threads, which are in its network namespace, and waits for it. */
    private <T> T inNamespace(ExecutorService on, Callable<T> task, String doing) throws IOException {
        if (closed) throw new IOException("server " + id + " is closed");
        try {
            return on.submit(task).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while " + doing, e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (RejectedExecutionException | CancellationException e) {
            throw new IOException("server " + id + " is closed", e);
        }
    }

    /**
     * Does now what the server does in the background once a minute (and for a peer as it joins): pings the idle
     * channels to the peers and the proxy, closing those that do not answer, and opens channels until
     * {@link Builder#warmChannels} are open to each peer and to the proxy. Returns how many it opened: for a caller
     * that has just started the peers or the proxy and is about to move many connections at once. Throws naming the
     * peers (or the proxy) that can't be reached.
     */
    public int openChannelsAhead() throws IOException {
        return inNamespace(channels, this::refreshChannels, "opening channels");
    }

    /** Control connections open now from this server's migrations to the proxy, idle or in use. */
    public int proxyChannels() {
        return context.proxyChannels();
    }

    /** Channels open now to each peer's migration agent (by peer id), idle or in use. */
    public Map<String, Integer> peerChannels() {
        return context.peerChannels();
    }

    private int refreshChannels() throws IOException {
        int dropped = context.keepAlive(warmChannels, CHANNEL_KEEP_ALIVE);
        if (dropped > 0) LOG.log(System.Logger.Level.DEBUG, () -> "server " + id + ": closed " + dropped + " idle channels (dead or surplus)");
        return openChannels(peers().values());
    }

    private int openChannels(Collection<Peer> targets) throws IOException {
        if (warmChannels == 0 || closed) return 0;
        // Only those still peers, at the same address, by the time this runs.
        return context.openAhead(targets.stream().filter(p -> p.equals(peer(p.id()))).toList(), warmChannels);
    }

    private void openChannelsLater(Collection<Peer> targets) {
        try {
            channels.execute(() -> quietly(() -> openChannels(targets)));
        } catch (RejectedExecutionException e) {
            // closing: nothing to open
        }
    }

    /** A background round: what it can't reach now, a migration opens on demand and the next round tries again. */
    private void quietly(Callable<Integer> round) {
        try {
            round.call();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "server " + id + ": " + e.getMessage() + "; opened on demand meanwhile");
        } catch (Error e) {
            // Out of a scheduled round an Error would end every later one without a word.
            LOG.log(System.Logger.Level.ERROR, "server " + id + ": keeping channels open failed", e);
        }
    }

    /** Whether peers may move connections here (a server being drained or overloaded says no). */
    public void acceptTransfers(boolean accept) {
        this.acceptingTransfers = accept;
    }

    /**
     * The start of a drain: this server takes no more transfers, and the proxy sends it no new flows (its weight
     * goes to 0, asked here before this returns). Returns what went wrong with the proxy, if anything: new flows may
     * then still arrive.
     */
    public Optional<String> closeToNewConnections() {
        acceptTransfers(false);
        try (ControlClient proxy = proxyClient()) {
            proxy.setWeight(id, 0);
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            String problem = "could not set the weight of " + id + " to 0 at the proxy: " + e.getMessage();
            LOG.log(System.Logger.Level.WARNING, problem + "; new flows may still arrive");
            return Optional.of(problem);
        }
    }

    private boolean admits(ServerMessages.Prepare prepare) {
        return acceptingTransfers && !closed;
    }

    /**
     * This server's packet hold and forwarding, for its figures (stragglers, hand-over timeouts, drops); null with
     * {@link Builder#repairAgent}, whose agent runs it.
     */
    public HoldPlane dataPlane() {
        return plane;
    }

    /**
     * The server's counters, its channels and its migrations' durations as Micrometer meters: bind them to the registry
     * the application exports ({@code server.metrics().bindTo(registry)}).
     */
    public ServerMetrics metrics() {
        return metrics;
    }

    /** Segments of connections that moved away which still arrived here and were sent on to their new server. */
    public long lateSegmentsForwarded() {
        return context.lateSegmentsForwarded();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                if ((Libc.poll(listenerFd, Libc.POLLIN, 100) & Libc.POLLIN) == 0) continue;
                int fd = Libc.accept(listenerFd, Libc.SOCK_CLOEXEC);
                metrics.accepted();
                accepted.add(new Connection(fd, Libc.getpeername(fd), Libc.getsockname(fd), new byte[0], null));
            } catch (NativeException e) {
                if (closed) return;
                LOG.log(System.Logger.Level.WARNING, "accept on " + listen + " failed: " + e.getMessage());
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /**
     * Stops accepting and serving migrations and detaches the data plane. Connections already handed to the
     * application stay open (the application closes them).
     */
    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        metrics.close();
        IOException failure = null;
        if (discovery != null) {
            try {
                discovery.close();
            } catch (IOException e) {
                failure = e;
            }
        }
        try {
            acceptor.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Libc.closeQuietly(listenerFd);
        // Cancelled, not just dropped: a caller of openChannelsAhead() waits on its task.
        for (Runnable queued : channels.shutdownNow()) if (queued instanceof Future<?> f) f.cancel(false);
        try {
            agent.close();
        } catch (IOException e) {
            if (failure == null) failure = e;
            else failure.addSuppressed(e);
        }
        migrations.shutdown();
        try {
            migrations.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            // A connect in progress ends within its timeout; the links it would add to are closed just below.
            channels.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        context.close();
        if (privileges != null) privileges.close();
        scheduler.shutdownNow();
        try {
            if (plane != null) plane.close();
        } catch (IOException e) {
            if (failure == null) failure = e;
            else failure.addSuppressed(e);
        }
        accepted.add(CLOSED);
        if (failure != null) throw failure;
    }

    /** Required: id, namespace, listen, service, proxy, key, agent. */
    public static final class Builder {
        private String id;
        private NetworkNamespace namespace;
        private InetSocketAddress listen;
        private InetSocketAddress service;
        private InetSocketAddress proxy;
        private InetSocketAddress agent;
        private byte[] key;
        private final Map<String, Peer> peers = new LinkedHashMap<>();
        private String holdInterface = "eth0";
        private String tunName = "slhold";
        private MigrationTimeouts timeouts = MigrationTimeouts.DEFAULTS;
        private int backlog = 1024;
        private int migrationThreads = 64;
        private int warmChannels = 8;
        private boolean discover;
        private Path repairAgent;
        private Duration discoveryHeartbeat = Duration.ofSeconds(30);
        private Duration discoveryRetry = Duration.ofSeconds(1);

        private Builder() {
        }

        /** This server's id, which is also its backend id at the proxy. */
        public Builder id(String id) {
            this.id = Objects.requireNonNull(id, "id");
            return this;
        }

        /** The network namespace the server lives in: its sockets, data plane and threads. */
        public Builder namespace(NetworkNamespace namespace) {
            this.namespace = Objects.requireNonNull(namespace, "namespace");
            return this;
        }

        /** Address and port the service listens on: the backend address the proxy knows for this server. */
        public Builder listen(InetSocketAddress listen) {
            this.listen = Objects.requireNonNull(listen, "listen");
            return this;
        }

        /** The service address (VIP and port) clients connect to, as configured at the proxy. */
        public Builder service(InetSocketAddress service) {
            this.service = Objects.requireNonNull(service, "service");
            return this;
        }

        /** The proxy's control address. */
        public Builder proxy(InetSocketAddress control) {
            this.proxy = Objects.requireNonNull(control, "proxy");
            return this;
        }

        /** Where this server's migration agent listens for peers. */
        public Builder agent(InetSocketAddress agent) {
            this.agent = Objects.requireNonNull(agent, "agent");
            return this;
        }

        /** The shared key of the proxy's control protocol, which peers use among themselves too. */
        public Builder key(byte[] key) {
            this.key = Objects.requireNonNull(key, "key").clone();
            return this;
        }

        public Builder peer(Peer peer) {
            peers.put(peer.id(), peer);
            return this;
        }

        public Builder peers(List<Peer> list) {
            list.forEach(this::peer);
            return this;
        }

        /**
         * Learns peers from the proxy: the server joins there (HELLO with its id and agent address) and keeps the
         * control connection open to hear of servers joining and leaving; closing the server leaves.
         * {@link LauncherServer#peers()} then follows the cluster. Combines with {@link #peer}.
         */
        public Builder discover() {
            this.discover = true;
            return this;
        }

        /** Silence from the proxy after which the server pings it, and the pause before rejoining after a loss. */
        public Builder discoveryTiming(Duration heartbeat, Duration retry) {
            if (heartbeat.isNegative() || heartbeat.isZero() || retry.isNegative() || retry.isZero()) {
                throw new IllegalArgumentException("discovery heartbeat and retry must be positive: " + heartbeat + ", " + retry);
            }
            this.discoveryHeartbeat = heartbeat;
            this.discoveryRetry = retry;
            return this;
        }

        /**
         * The privilege split: migrations go through the privileged {@link RepairAgent} listening at {@code socket}
         * (started with this server's hold plane), so this process needs no capability. Without a
         * {@link #namespace}, the server lives in the process's own network namespace.
         */
        public Builder repairAgent(Path socket) {
            this.repairAgent = Objects.requireNonNull(socket, "socket");
            return this;
        }

        /** The interface towards the proxy, where the packet hold and forwarding attach (default eth0). */
        public Builder holdInterface(String name) {
            this.holdInterface = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Name of the TUN device of the packet hold (default slhold; one per namespace). */
        public Builder tunName(String name) {
            this.tunName = Objects.requireNonNull(name, "name");
            return this;
        }

        public Builder timeouts(MigrationTimeouts timeouts) {
            this.timeouts = Objects.requireNonNull(timeouts, "timeouts");
            return this;
        }

        public Builder backlog(int backlog) {
            if (backlog < 1) throw new IllegalArgumentException("backlog must be positive: " + backlog);
            this.backlog = backlog;
            return this;
        }

        /**
         * Threads that run this server's outgoing migrations (default 64), all started with the server: migrations
         * beyond that many at once wait for one.
         */
        public Builder migrationThreads(int threads) {
            if (threads < 1) throw new IllegalArgumentException("migrationThreads must be positive: " + threads);
            this.migrationThreads = threads;
            return this;
        }

        /**
         * Channels to each peer's migration agent, and control connections to the proxy (at most 16), kept open ahead
         * of need (default 8; 0: opened on demand only). A migration that finds none idle opens one while its client
         * waits: a connect and a handshake, and a burst of migrations opens dozens at once. Set it to the number of
         * migrations this server starts at once to one peer; each channel holds a socket here and a thread at the peer.
         */
        public Builder warmChannels(int perPeer) {
            if (perPeer < 0) throw new IllegalArgumentException("warmChannels must be 0 or more: " + perPeer);
            this.warmChannels = perPeer;
            return this;
        }

        /** Binds, attaches the data plane and starts serving; on failure nothing stays open. */
        public LauncherServer build() throws IOException {
            List<String> missing = new ArrayList<>();
            if (id == null) missing.add("id");
            if (namespace == null && repairAgent == null) missing.add("namespace");
            if (listen == null) missing.add("listen");
            if (service == null) missing.add("service");
            if (proxy == null) missing.add("proxy");
            if (agent == null) missing.add("agent");
            if (key == null) missing.add("key");
            if (!missing.isEmpty()) throw new IllegalStateException("a server needs " + String.join(", ", missing));
            if (listen.getAddress().isAnyLocalAddress()) {
                throw new IllegalArgumentException("listen on the backend address the proxy knows, not " + listen.getAddress());
            }
            if (peers.containsKey(id)) throw new IllegalArgumentException("server " + id + " lists itself as a peer");
            if (discover) {
                BackendIds.require(id);
                if (agent.getAddress().isAnyLocalAddress()) {
                    throw new IllegalArgumentException("discover() announces the agent address to peers: bind the agent to an"
                            + " address they can reach, not " + agent.getAddress());
                }
            }
            ThreadFactory threads = namespace != null ? namespace.threadFactory() : Thread.ofPlatform().daemon().factory();
            int listenerFd;
            ServerSocket agentListener = null;
            HoldPlane plane = null;
            AgentPrivileges privileges = null;
            try {
                listenerFd = inNamespace(() -> {
                    int fd = Libc.socket(listen.getAddress() instanceof Inet4Address ? Libc.AF_INET : Libc.AF_INET6,
                            Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                    try {
                        Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1);
                        Libc.bind(fd, listen);
                        Libc.listen(fd, backlog);
                        return fd;
                    } catch (NativeException | RuntimeException e) {
                        Libc.closeQuietly(fd);
                        throw e;
                    }
                });
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException("cannot listen on " + listen + ": " + e.getMessage(), e);
            }
            try {
                agentListener = inNamespace(() -> {
                    ServerSocket listener = new ServerSocket();
                    try {
                        // Peers open a channel per concurrent migration: a drain opens hundreds at once, and
                        // the JDK's default backlog of 50 overflowed (each overflow costs a 1 s SYN retry).
                        listener.bind(agent, backlog);
                        return listener;
                    } catch (IOException | RuntimeException e) {
                        listener.close();
                        throw e;
                    }
                });
                if (repairAgent == null) plane = HoldPlane.start(namespace, holdInterface, tunName);
                else privileges = AgentPrivileges.connect(repairAgent);
                return new LauncherServer(this, threads, listenerFd, agentListener, plane, privileges);
            } catch (Exception e) {
                Libc.closeQuietly(listenerFd);
                if (agentListener != null) agentListener.close();
                if (privileges != null) privileges.close();
                if (plane != null) plane.close();
                if (e instanceof IOException io) throw io;
                if (e instanceof RuntimeException re) throw re;
                throw new IOException("cannot start server " + id + ": " + e.getMessage(), e);
            }
        }

        private <T> T inNamespace(Callable<T> task) throws Exception {
            return namespace != null ? namespace.call(task) : task.call();
        }
    }
}
