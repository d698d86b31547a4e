package io.socketlauncher.server.migration;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.proxy.control.ControlException;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.ServerMessages;
import io.socketlauncher.proxy.control.ServerMessages.Disposition;
import io.socketlauncher.server.Peer;
import io.socketlauncher.server.hold.DataPlane;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What both sides of a migration share on one server: its identity, its data plane and its links to the proxy
 * and the peers. The data plane's per-flow entry is either a hold (this server is the target) or forwarding
 * (this server was the source, or a target that handed the flow back); a flow that comes back while its forwarding
 * still lingers gets a hold instead, and the pending end of the forwarding is cancelled, so one can never remove the
 * other.
 */
public final class MigrationContext implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MigrationContext.class.getName());

    final String id;
    final InetSocketAddress service;
    final InetSocketAddress local;
    final DataPlane plane;
    final SocketRepair repair;
    final byte[] key;
    final MigrationTimeouts timeouts;
    final ProxyLink proxy;
    final ScheduledExecutorService scheduler;
    private final Map<String, PeerLink> peers = new ConcurrentHashMap<>();
    private final Map<FlowTuple, ScheduledFuture<?>> lingering = new ConcurrentHashMap<>();
    /** Flows whose socket this server captured and keeps open (silent, in repair mode) until its migration ends. */
    private final Set<FlowTuple> departing = new HashSet<>();
    /** Flows rolled back here that the proxy may still point elsewhere: see {@link #reclaim}. */
    private final Map<FlowTuple, Reclaim> reclaims = new ConcurrentHashMap<>();
    private final AtomicBoolean reclaimRoundDue = new AtomicBoolean();
    /** An ordinary thread in this server's network namespace, for work that may block on the proxy (a reclaim). */
    private final ScheduledExecutorService background;
    private final Object dataPlane = new Object();
    private final AtomicLong forwarded = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param id       this server's id, which is also its backend id at the proxy
     * @param service  the proxy's service address (VIP) the flows are known by there
     * @param local    the address this server's sockets are bound to (its backend address at the proxy)
     */
    public MigrationContext(String id, InetSocketAddress service, InetSocketAddress local, DataPlane plane,
                            InetSocketAddress proxyControl, byte[] key, MigrationTimeouts timeouts,
                            ScheduledExecutorService scheduler, ScheduledExecutorService background) {
        this(id, service, local, plane, SocketRepair.LOCAL, proxyControl, key, timeouts, scheduler, background);
    }

    /** With {@code repair} and {@code plane} done elsewhere, e.g. by the privileged agent. */
    public MigrationContext(String id, InetSocketAddress service, InetSocketAddress local, DataPlane plane,
                            SocketRepair repair, InetSocketAddress proxyControl, byte[] key, MigrationTimeouts timeouts,
                            ScheduledExecutorService scheduler, ScheduledExecutorService background) {
        this.id = id;
        this.repair = repair;
        this.service = service;
        this.local = local;
        this.plane = plane;
        this.key = key.clone();
        this.timeouts = timeouts;
        this.proxy = new ProxyLink(proxyControl, key, timeouts.redirect());
        this.scheduler = scheduler;
        this.background = background;
    }

    PeerLink link(Peer peer) {
        if (closed) throw new IllegalStateException("server " + id + " is closed");
        while (true) {
            PeerLink link = peers.computeIfAbsent(peer.id(), p -> new PeerLink(peer, key, timeouts.prepare()));
            if (link.peer().equals(peer)) return link;
            // The peer came back at another address: the old channels lead nowhere.
            if (peers.remove(peer.id(), link)) link.close();
        }
    }

    /**
     * Opens channels ahead of need, so that a burst of migrations finds them open (opening one costs a connect and
     * a handshake, and a burst opened dozens at once): to each of {@code targets} until {@code perPeer} are open, and
     * to the proxy until as many are (at most {@link ProxyLink#MAX_CONNECTIONS}). Returns how many it opened. Every
     * one is tried; the exception names those that can't be reached.
     */
    public int openAhead(Collection<Peer> targets, int perPeer) throws IOException {
        int opened = 0;
        IOException failure = null;
        try {
            opened += proxy.fill(perPeer);
        } catch (IOException e) {
            failure = new IOException("cannot open channels ahead: proxy: " + e.getMessage(), e);
        }
        for (Peer p : targets) {
            if (closed) break;
            try {
                opened += link(p).fill(perPeer);
            } catch (IOException e) {
                if (failure == null) failure = new IOException("cannot open channels ahead: " + e.getMessage(), e);
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
        return opened;
    }

    /**
     * Pings every idle channel to the proxy and the peers: the far ends close channels idle for minutes, and a
     * migration that finds one closed has to open another while the client waits. Channels to a peer beyond
     * {@code keep} that went unused for {@code unusedFor} are closed instead. Returns how many were closed.
     */
    public int keepAlive(int keep, Duration unusedFor) {
        int dropped = proxy.keepAlive();
        for (PeerLink link : peers.values()) dropped += link.keepAlive(keep, unusedFor);
        return dropped;
    }

    /** One exchange with the peer's migration agent (PING, PONG) on a pooled channel. */
    public void ping(Peer peer) throws IOException {
        link(peer).ping();
    }

    /** Control connections open now to the proxy, idle or in use. */
    public int proxyChannels() {
        return proxy.openClients();
    }

    /** Channels open now to each peer's migration agent (by id), idle or in use. */
    public Map<String, Integer> peerChannels() {
        Map<String, Integer> open = new TreeMap<>();
        peers.forEach((id, link) -> open.put(id, link.openChannels()));
        return open;
    }

    /** A peer that left: its channels are closed (it may come back elsewhere under the same id). */
    public void forget(String peerId) {
        PeerLink link = peers.remove(peerId);
        if (link != null) link.close();
    }

    /**
     * Starts holding a flow that is coming here, replacing lingering forwarding of an earlier departure. A flow can
     * come back only once its target committed, but this server may not have heard XFERED yet and still have its
     * captured copy open (the target hands the connection to its application first): that copy must be closed
     * before the flow is held and restored here (its address pair is taken until then, and its forwarding still
     * sends late segments to the target), so this waits for it.
     */
    void hold(FlowTuple flow) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeouts.prepare().toNanos() / 2;
        synchronized (departing) {
            for (long left; departing.contains(flow) && (left = deadline - System.nanoTime()) > 0; ) {
                TimeUnit.NANOSECONDS.timedWait(departing, left);
            }
            if (departing.contains(flow)) {
                throw new IOException("this server's previous copy of " + flow + " is still open: its migration away from here "
                        + "has not ended within " + timeouts.prepare().dividedBy(2).toMillis() + " ms");
            }
        }
        while (true) {
            synchronized (dataPlane) {
                // The hold replaces the forwarding: the proxy still sends the flow elsewhere (REDIRECT comes after
                // HOLDING), so nothing is due here now that a late segment would miss. Only a hold that took place
                // ends the forwarding's timer: one refused or failed leaves the forwarding to end as it would have.
                long forwarded = plane.hold(flow);
                if (forwarded >= 0) {
                    ScheduledFuture<?> pending = lingering.remove(flow);
                    if (pending != null) pending.cancel(false);
                    count(forwarded);
                    return;
                }
            }
            // A release of the flow's previous arrival is still handing over to the direct path.
            if (System.nanoTime() >= deadline) {
                throw new IOException(flow + " is still held here: the release of its previous arrival has not handed over"
                        + " within " + timeouts.prepare().dividedBy(2).toMillis() + " ms");
            }
            Thread.sleep(1);
        }
    }

    /** The source captured the flow's socket: until {@link #departed}, the flow can't be restored here. */
    void departing(FlowTuple flow) {
        synchronized (departing) {
            departing.add(flow);
        }
    }

    /** The source closed its captured socket (the target has the connection) or resumed it (rolled back). */
    void departed(FlowTuple flow) {
        synchronized (departing) {
            departing.remove(flow);
            departing.notifyAll();
        }
    }

    /** Counts the flow's segments on their way to the socket here, until {@link #depart}; false if it can't. */
    boolean count(FlowTuple flow) throws IOException {
        synchronized (dataPlane) {
            return plane.count(flow);
        }
    }

    /**
     * Sends the flow's late segments on to {@code target} from now on, drains what is already in the stack into the
     * socket and captures it ({@link SocketRepair#depart}, counted from {@code segmentsAtCount} if not -1).
     */
    SocketRepair.Departure depart(int fd, FlowTuple flow, InetAddress target, long segmentsAtCount, boolean realtime)
            throws DepartureException {
        synchronized (dataPlane) {
            ScheduledFuture<?> pending = lingering.remove(flow);
            if (pending != null) pending.cancel(false);
        }
        // Outside the lock, which only keeps the forwarding's scheduled end in step with it: the drain and the capture
        // take tens of microseconds, through the agent an exchange, and every other migration's flow changes wait on it.
        return repair.depart(fd, plane, flow, target, segmentsAtCount, timeouts.drainQuiet().toNanos(),
                timeouts.drainMax().toNanos(), realtime);
    }

    /** Ends forwarding or counting now (the flow is staying here after all). */
    void stopForwarding(FlowTuple flow) throws IOException {
        synchronized (dataPlane) {
            ScheduledFuture<?> pending = lingering.remove(flow);
            if (pending != null) pending.cancel(false);
            count(plane.stopForwarding(flow));
        }
    }

    private void count(long forwardedPackets) {
        if (forwardedPackets > 0) forwarded.addAndGet(forwardedPackets);
    }

    /** Segments of departed flows that still arrived here and were sent on to their new server. */
    public long lateSegmentsForwarded() {
        return forwarded.get();
    }

    /** Ends forwarding after the linger time, unless the flow is held here again by then. */
    void stopForwardingLater(FlowTuple flow) {
        stopForwardingAfter(flow, timeouts.forwardLinger());
    }

    /**
     * Target side, for a migration its source rolled back without knowing where the proxy points the flow: the hold
     * becomes a forwarding to {@code source} ({@link DataPlane#handBack}), for {@link Disposition#HAND_BACK_LIMIT} at
     * most, unless {@link #stopForwarding} or a hold of the flow here ends it sooner.
     */
    void handBack(FlowTuple flow, InetAddress source) throws IOException {
        synchronized (dataPlane) {
            // The end first: a hand-back that fails after all (an agent's answer lost) leaves no forwarding without one,
            // and the end of a hold that stayed is a no-op.
            stopForwardingAfter(flow, Disposition.HAND_BACK_LIMIT);
            plane.handBack(flow, source);
        }
    }

    /**
     * Source side, after a rollback the proxy did not confirm: the connection is here, but the proxy may still point the
     * flow at the target, which forwards it here (a hand-back) or still holds it. Asks the proxy to point the flow here
     * again, in rounds a second apart on the background thread (an ordinary one: a proxy outage must hold up no
     * migration or timer), for {@link Disposition#HAND_BACK_LIMIT} at most; once it has, tells the target to end its
     * forwarding or its hold. Until then no migration of the flow starts ({@link #reclaiming}).
     */
    void reclaim(FlowKey proxyFlow, FlowTuple flow, Peer target, long migration) {
        reclaims.put(flow, new Reclaim(proxyFlow, target, migration, System.nanoTime() + Disposition.HAND_BACK_LIMIT.toNanos()));
        if (reclaimRoundDue.compareAndSet(false, true)) scheduleReclaimRound();
    }

    /** Whether the flow is being pointed back here after a rollback: the connection stays until it is. */
    boolean reclaiming(FlowTuple flow) {
        return reclaims.containsKey(flow);
    }

    private record Reclaim(FlowKey proxyFlow, Peer target, long migration, long deadline) {
    }

    private void scheduleReclaimRound() {
        try {
            background.schedule(this::reclaimRound, 1, TimeUnit.SECONDS);
        } catch (RejectedExecutionException closing) {
            reclaimRoundDue.set(false);
        }
    }

    private void reclaimRound() {
        try {
            for (Map.Entry<FlowTuple, Reclaim> e : reclaims.entrySet()) {
                if (closed) return;
                Reclaim r = e.getValue();
                Attempt attempt = askToPointBackHere(r);
                if (attempt == Attempt.SETTLED || System.nanoTime() > r.deadline()) reclaims.remove(e.getKey(), r);
                // Unreachable for this one, so for the others too: asking each in turn would take a timeout apiece.
                if (attempt == Attempt.UNREACHABLE) break;
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "pointing rolled-back flows back here: " + e);
        } finally {
            reclaimRoundDue.set(false);
            if (!reclaims.isEmpty() && !closed && reclaimRoundDue.compareAndSet(false, true)) scheduleReclaimRound();
        }
    }

    private enum Attempt { SETTLED, AGAIN, UNREACHABLE }

    /** One attempt to point a rolled-back flow back here; settled one way or the other, or to be tried again. */
    private Attempt askToPointBackHere(Reclaim r) {
        try {
            proxy.redirect(r.proxyFlow(), id);
        } catch (IllegalArgumentException | ControlException refused) {
            if (refused instanceof ControlException c && c.errorCode() != ErrorCode.INVALID_ARGUMENT) return Attempt.AGAIN;
            // The flow ended, or this server is no backend any more: a target's forwarding ends at its limit.
            LOG.log(System.Logger.Level.WARNING, "the proxy refused to point " + r.proxyFlow() + " back here: " + refused.getMessage());
            return Attempt.SETTLED;
        } catch (IOException unreachable) {
            if (System.nanoTime() > r.deadline()) {
                LOG.log(System.Logger.Level.ERROR, "the proxy could not be told to point " + r.proxyFlow() + " back here within "
                        + Disposition.HAND_BACK_LIMIT.toMinutes() + " minutes: " + unreachable.getMessage());
            }
            return Attempt.UNREACHABLE;
        }
        LOG.log(System.Logger.Level.INFO, r.proxyFlow() + " points here again");
        abort(link(r.target()), null, r.migration(), Disposition.DISCARD, "pointed back at the source");
        return Attempt.SETTLED;
    }

    /**
     * Tells a migration's target what to do with its hold (XFER_ABORT), on {@code current} if it is still sound, else on
     * a pooled channel; returns whether the target was told. If it can't be, the target ends its hold at its guard
     * timeout, or a hand-back's forwarding at its limit.
     */
    boolean abort(PeerLink link, PeerLink.Session current, long migration, Disposition disposition, String reason) {
        String bounded = reason == null ? "aborted" : reason.length() > 500 ? reason.substring(0, 500) : reason;
        byte[] abort = ServerMessages.abort(new ServerMessages.Abort(migration, disposition, bounded));
        try {
            if (current != null && !current.broken) {
                current.call(MessageType.XFER_ABORT, abort, MessageType.XFER_ABORTED, timeouts.prepare());
                return true;
            }
            PeerLink.Session s = link.acquire();
            try {
                s.call(MessageType.XFER_ABORT, abort, MessageType.XFER_ABORTED, timeouts.prepare());
                return true;
            } finally {
                link.release(s);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "migration " + Long.toHexString(migration) + ": XFER_ABORT (" + disposition
                    + ") to " + link.peer().id() + " failed (" + e.getMessage() + "); the target ends its hold on its own");
            return false;
        }
    }

    private void stopForwardingAfter(FlowTuple flow, Duration after) {
        ScheduledFuture<?>[] self = new ScheduledFuture<?>[1];
        synchronized (dataPlane) {
            self[0] = scheduler.schedule(() -> {
                synchronized (dataPlane) {
                    if (!lingering.remove(flow, self[0])) return;
                    try {
                        count(plane.stopForwarding(flow));
                    } catch (IOException e) {
                        LOG.log(System.Logger.Level.WARNING, "stop forwarding " + flow + ": " + e.getMessage());
                    }
                }
            }, after.toMillis(), TimeUnit.MILLISECONDS);
            ScheduledFuture<?> previous = lingering.put(flow, self[0]);
            if (previous != null) previous.cancel(false);
        }
    }

    @Override
    public void close() {
        closed = true;
        if (!reclaims.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "server " + id + " closes with " + reclaims.size() + " flows the proxy may still "
                    + "point at their targets: " + reclaims.keySet() + "; their targets' forwarding ends at its limit");
        }
        proxy.close();
        peers.values().forEach(PeerLink::close);
        lingering.values().forEach(f -> f.cancel(false));
    }
}
