package io.socketlauncher.server.policy;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.sys.Epoll;
import io.socketlauncher.sys.Errno;
import io.socketlauncher.sys.NativeException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Moves connections off this server by policy, as a small agent with a duty cycle (one thread, Aeron style): the
 * seed's logistic queue-length rule ({@link LogisticThreshold}) with peers chosen by a {@link PeerSelector}
 * (least-loaded by default), and {@link #drain} for a deploy.
 *
 * <h2>The application's contract</h2>
 * The agent moves a connection only while the application has <em>parked</em> it: between two requests, when the
 * application holds none of the connection's bytes in its own buffers (unread bytes in the kernel are fine: they
 * travel with the connection) and no thread touches the socket. A thread-per-connection server waits for its next
 * request through the agent instead of blocking in {@code read}:
 * <pre>{@code
 * PolicyAgent policy = PolicyAgent.builder(server).threshold(new LogisticThreshold(8, 1.0)).start();
 * ...
 * Connection c = server.accept();
 * while (policy.awaitRequest(c) == PolicyAgent.Next.REQUEST) {
 *     serveOneRequest(c);           // read the request, write the reply
 * }                                 // MOVED: a peer serves the client now; this thread is done with it
 * }</pre>
 * An event-loop server uses {@link #park}, whose future says the same without blocking. While a connection is
 * parked its fd is watched by the agent's epoll; when its next request arrives, the logistic rule decides (at the
 * load {@code q} of that moment) whether the request is served here ({@link Next#REQUEST}) or the connection, with
 * the request still unread in its receive queue, moves to a peer ({@link Next#MOVED}). A failed move hands the
 * connection back ({@code REQUEST}) unless its fate is unknown, which fails the future with the
 * {@link TransferException}. Connections the application never parks are never moved.
 *
 * <p>The load {@code q} is by default the number of other requests in service here: connections the application
 * has taken back from the agent and not parked again. Give your own ({@link Builder#load}) for a real queue length.
 */
public final class PolicyAgent implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PolicyAgent.class.getName());
    private static final int EVENTS = 256;
    private static final long SWEEP_NANOS = 100_000_000L;

    /** What became of a parked connection. */
    public enum Next {
        /** Its next request is here (or the client closed, or the socket failed): serve it. */
        REQUEST,
        /** It moved to a peer: the application must not touch it again. */
        MOVED
    }

    private final LauncherServer server;
    private final LogisticThreshold threshold;
    private final PeerSelector selector;
    private final LongSupplier load;
    private final int maxInFlight;
    private final int maxAttempts;
    private final int cycleMillis;
    private final AutoCloseable ownedResource;
    private final Epoll epoll;
    private final Thread thread;
    private final AtomicLong tokens = new AtomicLong();
    /** Parked connections by epoll token; application threads add, the agent removes. */
    private final Map<Long, Parked> parked = new ConcurrentHashMap<>();
    /** Connections parked at least once and not gone: the ones a drain must move. */
    private final Set<Connection> known = ConcurrentHashMap.newKeySet();
    private final Queue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    private final Queue<DrainRun> drainRequests = new ConcurrentLinkedQueue<>();
    private final AtomicLong movedTotal = new AtomicLong();
    private long lastSweep = System.nanoTime();
    private volatile int inFlight;
    private volatile DrainProgress progress;
    private DrainRun drain;
    private volatile boolean closed;

    private static final class Parked {
        final Connection connection;
        final long token;
        final CompletableFuture<Next> next = new CompletableFuture<>();
        /** Its fd is in the epoll set: until then the agent leaves it alone (a drain would race the registration). */
        volatile boolean armed;
        int attempts;
        String lastFailure;

        Parked(Connection connection, long token) {
            this.connection = connection;
            this.token = token;
        }
    }

    private record Outcome(Parked parked, String peer, boolean byDrain, TransferReport report, Throwable failure) {
    }

    private static final class DrainRun {
        final CompletableFuture<DrainReport> result = new CompletableFuture<>();
        final long started = System.nanoTime();
        final long deadline;
        final Optional<String> weightProblem;
        final Map<Connection, String> failures = new HashMap<>();
        final List<DrainReport.Stayed> lost = new ArrayList<>();
        int moved;
        int failedAttempts;

        DrainRun(Duration within, Optional<String> weightProblem) {
            this.deadline = started + within.toNanos();
            this.weightProblem = weightProblem;
        }
    }

    private PolicyAgent(Builder b) throws NativeException {
        this.server = b.server;
        this.threshold = b.threshold;
        this.maxInFlight = b.maxInFlight;
        this.maxAttempts = b.maxAttempts;
        this.cycleMillis = (int) Math.max(1, b.cycle.toMillis());
        if (b.selector != null) {
            this.selector = b.selector;
            this.ownedResource = null;
        } else {
            ProxyLoads loads = new ProxyLoads(b.server);
            this.selector = new LeastLoaded(loads, Duration.ofSeconds(1));
            this.ownedResource = loads;
        }
        this.load = b.load != null ? b.load : this::otherRequestsInService;
        this.epoll = Epoll.create(EVENTS);
        this.thread = Thread.ofPlatform().daemon().name("sl-policy-" + server.id()).unstarted(this::run);
    }

    public static Builder builder(LauncherServer server) {
        return new Builder(server);
    }

    /** Parks the connection (see the class comment) and waits for what becomes of it. */
    public Next awaitRequest(Connection connection) throws IOException, InterruptedException {
        try {
            return park(connection).get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
    }

    /**
     * Hands the connection to the agent until its next request arrives or it moves. The application must not touch
     * it until the future completes; a future failed with a {@link TransferException} means its fate is unknown.
     */
    public CompletableFuture<Next> park(Connection connection) {
        Objects.requireNonNull(connection, "connection");
        int fd = connection.fd();
        if (closed || fd < 0) return CompletableFuture.completedFuture(Next.REQUEST);
        Parked p = new Parked(connection, tokens.incrementAndGet());
        known.add(connection);
        parked.put(p.token, p);
        // The registration comes last: from then on its event may fire, and the agent must find it parked.
        try {
            epoll.add(fd, Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLONESHOT, p.token);
            p.armed = true;
        } catch (NativeException e) {
            parked.remove(p.token);
            if (e.is(Errno.EEXIST)) {
                throw new IllegalStateException(connection + " is parked already");
            }
            return CompletableFuture.completedFuture(Next.REQUEST); // its socket failed: the application's read says how
        }
        return p.next;
    }

    /**
     * Moves every connection off this server, many at once (up to the agent's limit in flight), for a deploy: the
     * server stops taking transfers, its weight at the proxy goes to 0 (no new flows; the call to the proxy happens
     * here, before this method returns), and every connection the agent knows is moved as soon as it is parked.
     * The result comes when all have moved, or at {@code within}, naming each connection that stayed and why
     * (never parked in time: busy in a request; or its transfers failed). The server stays drained.
     */
    public CompletableFuture<DrainReport> drain(Duration within) {
        if (closed) return CompletableFuture.failedFuture(new IOException("policy agent of " + server.id() + " is closed"));
        DrainRun run = new DrainRun(within, server.closeToNewConnections());
        drainRequests.add(run);
        return run.result;
    }

    /** The running (or last) drain's figures, if a drain was asked for. */
    public Optional<DrainProgress> drainProgress() {
        return Optional.ofNullable(progress);
    }

    /** Connections moved by this agent so far (threshold and drain). */
    public long moved() {
        return movedTotal.get();
    }

    /**
     * Requests in service: connections taken back by the application and not parked again, not counting the one
     * whose request is arriving (the seed polled the queue before adding the new request to it).
     */
    private long otherRequestsInService() {
        return Math.max(0, known.size() - parked.size() - inFlight - 1);
    }

    private void start() {
        thread.start();
    }

    private void run() {
        long[] ready = new long[EVENTS];
        int[] events = new int[EVENTS];
        while (!closed) {
            try {
                int n = epoll.await(cycleMillis, ready, events);
                for (int i = 0; i < n; i++) {
                    Parked p = parked.remove(ready[i]);
                    if (p != null) readable(p);
                }
                for (Outcome o; (o = outcomes.poll()) != null; ) settle(o);
                for (DrainRun r; (r = drainRequests.poll()) != null; ) {
                    if (drain != null) drain.result.completeExceptionally(new IllegalStateException("superseded by a new drain"));
                    drain = r;
                }
                sweepClosed();
                if (drain != null) drainStep();
            } catch (NativeException | RuntimeException e) {
                if (closed) break;
                LOG.log(System.Logger.Level.ERROR, "policy agent of " + server.id() + ": " + e.getMessage(), e);
            }
        }
    }

    /** A parked connection's next request is here: serve it here, or move it by the threshold rule (or the drain). */
    private void readable(Parked p) {
        unwatch(p);
        if (!p.connection.isOpen()) {
            known.remove(p.connection);
            p.next.complete(Next.REQUEST);
            return;
        }
        if (drain != null && p.attempts < maxAttempts && inFlight < maxInFlight) {
            if (move(p, true)) return;
            drain.failures.put(p.connection, p.lastFailure);
        } else if (drain == null && threshold != null && inFlight < maxInFlight && threshold.shouldTransfer(load.getAsLong())) {
            if (move(p, false)) return;
        }
        p.next.complete(Next.REQUEST);
    }

    /** Starts a transfer to the selected peer; false (nothing started) if no peer can take it. */
    private boolean move(Parked p, boolean byDrain) {
        Optional<String> peer;
        try {
            peer = selector.choose(server.peers().keySet());
        } catch (IOException | RuntimeException e) {
            p.lastFailure = "no peer: " + e.getMessage();
            return false;
        }
        if (peer.isEmpty()) {
            p.lastFailure = "no peer can take connections (peers: " + server.peers().keySet() + ")";
            return false;
        }
        p.attempts++;
        inFlight++;
        String target = peer.get();
        server.transfer(p.connection, target).whenComplete((report, failure) -> {
            outcomes.add(new Outcome(p, target, byDrain, report, failure));
            if (closed) settleAfterClose();
        });
        return true;
    }

    /** Once the agent thread has stopped, outcomes only need to reach the application's waiting threads. */
    private synchronized void settleAfterClose() {
        for (Outcome o; (o = outcomes.poll()) != null; ) {
            if (o.failure == null) {
                o.parked.next.complete(Next.MOVED);
            } else if (o.failure instanceof TransferException te && !te.stayedOnSource()) {
                o.parked.next.completeExceptionally(o.failure);
            } else {
                o.parked.next.complete(Next.REQUEST);
            }
        }
    }

    private void settle(Outcome o) {
        inFlight--;
        Parked p = o.parked;
        if (o.failure == null) {
            known.remove(p.connection);
            movedTotal.incrementAndGet();
            if (drain != null) drain.moved++;
            p.next.complete(Next.MOVED);
            return;
        }
        Throwable f = o.failure;
        boolean stayed = !(f instanceof TransferException te) || te.stayedOnSource();
        if (!stayed) {
            known.remove(p.connection);
            if (drain != null) drain.lost.add(new DrainReport.Stayed(p.connection, "transfer to " + o.peer + ": " + f.getMessage()));
            p.next.completeExceptionally(f);
            return;
        }
        p.lastFailure = "transfer to " + o.peer + " failed: " + f.getMessage();
        if (drain != null) {
            drain.failedAttempts++;
            drain.failures.put(p.connection, p.lastFailure);
        }
        if (o.byDrain && drain != null) {
            rewatch(p); // tried again next cycle, up to maxAttempts
        } else {
            p.next.complete(Next.REQUEST); // its request is waiting: serve it here
        }
    }

    /** Forgets connections the application closed (they would count as load and keep a drain waiting). */
    private void sweepClosed() {
        long now = System.nanoTime();
        if (drain == null && now - lastSweep < SWEEP_NANOS) return;
        lastSweep = now;
        known.removeIf(c -> !c.isOpen());
    }

    private void drainStep() {
        DrainRun run = drain;
        for (Parked p : parked.values()) {
            if (inFlight >= maxInFlight) break;
            if (!p.armed || p.attempts >= maxAttempts || !parked.remove(p.token, p)) continue;
            unwatch(p);
            if (!move(p, true)) {
                run.failures.put(p.connection, p.lastFailure);
                p.attempts++;
                rewatch(p);
            }
        }
        boolean exhausted = known.size() == parked.size() && parked.values().stream().allMatch(p -> p.attempts >= maxAttempts);
        long now = System.nanoTime();
        boolean done = inFlight == 0 && (known.isEmpty() || exhausted || now - run.deadline >= 0);
        progress = new DrainProgress(known.size(), run.moved, inFlight, run.failedAttempts, done);
        if (!done) return;
        List<DrainReport.Stayed> stayed = new ArrayList<>();
        Set<Connection> parkedNow = ConcurrentHashMap.newKeySet();
        parked.values().forEach(p -> parkedNow.add(p.connection));
        for (Connection c : known) {
            String why = run.failures.get(c);
            if (why == null) why = parkedNow.contains(c) ? "not tried before the deadline" : "busy: not parked between requests before the deadline";
            stayed.add(new DrainReport.Stayed(c, why));
        }
        drain = null;
        run.result.complete(new DrainReport(run.moved, List.copyOf(stayed), List.copyOf(run.lost),
                Duration.ofNanos(now - run.started), run.weightProblem));
    }

    private void unwatch(Parked p) {
        try {
            epoll.delete(p.connection.fd());
        } catch (NativeException e) {
            // already gone from the epoll set (its fd closed): nothing left to undo
        }
    }

    /** Parks the connection again (after a failed move), with its history. */
    private void rewatch(Parked p) {
        parked.put(p.token, p);
        try {
            epoll.add(p.connection.fd(), Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLONESHOT, p.token);
        } catch (NativeException e) {
            parked.remove(p.token);
            p.next.complete(Next.REQUEST);
        }
    }

    /**
     * Stops the agent. Parked connections are handed back ({@link Next#REQUEST}); transfers in flight finish on
     * the server, and their waiting threads hear how they ended. A drain in progress fails.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Parked p : parked.values()) p.next.complete(Next.REQUEST);
        parked.clear();
        settleAfterClose();
        if (drain != null) drain.result.completeExceptionally(new IOException("policy agent of " + server.id() + " closed"));
        for (DrainRun r; (r = drainRequests.poll()) != null; ) r.result.completeExceptionally(new IOException("policy agent closed"));
        epoll.close();
        if (ownedResource != null) {
            try {
                ownedResource.close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.DEBUG, "closing the proxy loads: " + e);
            }
        }
    }

    /** Everything has a default: no threshold rule (drain only), least-loaded peers by the proxy's flow counts. */
    public static final class Builder {
        private final LauncherServer server;
        private LogisticThreshold threshold;
        private PeerSelector selector;
        private LongSupplier load;
        private int maxInFlight = 64;
        private int maxAttempts = 3;
        private Duration cycle = Duration.ofMillis(10);

        private Builder(LauncherServer server) {
            this.server = Objects.requireNonNull(server, "server");
        }

        /** The seed's rule, applied when a parked connection's next request arrives. */
        public Builder threshold(LogisticThreshold threshold) {
            this.threshold = Objects.requireNonNull(threshold, "threshold");
            return this;
        }

        /** Where connections go (default: {@link LeastLoaded} over {@link ProxyLoads}, refreshed every second). */
        public Builder selector(PeerSelector selector) {
            this.selector = Objects.requireNonNull(selector, "selector");
            return this;
        }

        /** The load {@code q} the threshold rule sees (default: requests in service here). */
        public Builder load(LongSupplier load) {
            this.load = Objects.requireNonNull(load, "load");
            return this;
        }

        /** Transfers in flight at once (default 64). */
        public Builder maxInFlight(int max) {
            if (max < 1) throw new IllegalArgumentException("max in flight must be positive: " + max);
            this.maxInFlight = max;
            return this;
        }

        /** Attempts per connection during a drain before it is reported as staying (default 3). */
        public Builder maxAttempts(int max) {
            if (max < 1) throw new IllegalArgumentException("max attempts must be positive: " + max);
            this.maxAttempts = max;
            return this;
        }

        /** The longest the agent sleeps between two looks at its queues (default 10 ms). */
        public Builder cycle(Duration cycle) {
            if (cycle.toMillis() < 1) throw new IllegalArgumentException("cycle must be at least 1 ms: " + cycle);
            this.cycle = cycle;
            return this;
        }

        public PolicyAgent start() throws IOException {
            PolicyAgent agent = new PolicyAgent(this);
            agent.start();
            return agent;
        }
    }
}
