package io.socketlauncher.server.hold;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.bpf.hold.HoldAction;
import io.socketlauncher.bpf.hold.HoldProgram;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.Membarrier;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.NetworkNamespace;
import io.socketlauncher.sys.RealTimeThreads;
import io.socketlauncher.sys.Tun;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server's data plane for live migration, on its interface towards the load balancer.
 *
 * <p><b>Target side, {@link #hold}/{@link #release}.</b> From {@code hold} on, the ingress program redirects
 * the flow's packets to the egress of a TUN device; a reader thread keeps them, so no
 * segment reaches the stack before the restored socket exists (it would draw a reset). {@code release}
 * writes them back into the TUN, where the kernel receives them as if they had arrived there: the
 * restored socket takes them in order. Starting and ending a hold is one map update each.
 *
 * <p>Ordering at release: every read of the TUN and every write into it happens under one lock, so
 * the held queue goes back in sending order ({@link SendingOrder}), and packets that arrive meanwhile are still diverted and
 * join the end of the same path. The diversion is not simply removed then: packets still waiting in
 * the TUN would be overtaken by newer ones going straight to the stack, and the client would take the
 * reordering for loss. Instead the program counts the segments it diverts and the reader publishes
 * how many it has written back; the program sends the flow straight to the stack only once the two
 * match (nothing of the flow is left in the TUN), and the reader then removes the entries. A flow that
 * never pauses long enough for that (a bulk stream whose whole window circulates through the TUN) is
 * handed over anyway after {@link #HANDOFF_TIMEOUT_NANOS}, accepting one reordering; {@link
 * #handoffTimeouts()} counts those.
 *
 * <p><b>Source side, {@link #forward}.</b> The flow's packets are sent back out of the interface they came
 * in on, to the load balancer, addressed to the target (in NAT modes the destination is rewritten to
 * the target's address; with the service address on every server it stays, and the balancer's new
 * mapping routes it). Late segments of a moved connection thus reach the target instead of drawing a
 * reset from the source.
 *
 * <p>Requires reverse-path filtering not to be strict on the host (the TUN is not the route back to the
 * client); the TUN's own setting is turned off here, and a strict {@code all} setting is refused.
 */
public final class HoldPlane implements DataPlane, AutoCloseable {
    /** Packets the kernel queues towards the reader before it drops: a burst of a few fast flows. */
    private static final int TUN_QUEUE = 16_384;
    private static final int MAX_PACKET = Tun.VNET_HEADER + 65_536;
    /** Held bytes over all flows, beyond which packets are dropped (and later retransmitted by the client). */
    private static final long MAX_HELD_BYTES = 64L << 20;
    private static final int BATCH = 64;
    static final long HANDOFF_TIMEOUT_NANOS = 500_000_000L;
    /**
     * How long a released flow stays caught up before its entries go (see {@link #handOver}): far longer than a
     * packet takes from reading the counters to counting itself, and short enough for a connection that leaves
     * again right after arriving to find its hand-over done.
     */
    private static final long SETTLE_NANOS = 100_000L;
    private static final System.Logger LOG = System.getLogger(HoldPlane.class.getName());

    private final NetworkNamespace namespace;
    private final HoldProgram program;
    private final Tun tun;
    private final int tunIfindex;
    /** Where the IP header starts in what the TUN reads: behind the virtio header when it has offloads. */
    private final int ip;
    private final Map<FlowTuple, HeldFlow> held = new ConcurrentHashMap<>();
    /**
     * Serialises every read from and write into the TUN: that is what keeps each flow in order. Not fair: a fair lock
     * hands itself to the longest waiter, a park and a wake-up on every contended unlock, and with 64 migrations
     * at once that cost about a tenth of the in-process rate (docs/migration.md).
     */
    private final ReentrantLock ring = new ReentrantLock();
    private final byte[] readBuffer = new byte[MAX_PACKET];
    private final AtomicLong heldBytes = new AtomicLong();
    private final AtomicLong stragglers = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong handoffTimeouts = new AtomicLong();
    private final AtomicLong reorderedArrivals = new AtomicLong();
    /**
     * Flows handed back to their source ({@link #handBack}) until their forwarding ends: what of them still comes out
     * of the TUN is dropped, since this server has no socket for them.
     */
    private final Set<FlowTuple> handedBack = ConcurrentHashMap.newKeySet();
    /** Flows released but not yet handed over to the direct path; guarded by {@link #ring}. */
    private final Map<FlowTuple, HeldFlow> releasing = new java.util.LinkedHashMap<>();
    private final Thread reader;
    private volatile boolean running = true;
    /** The reader's view of {@code releasing.size()}, updated under the lock. */
    private volatile int releasingCount;

    private HoldPlane(NetworkNamespace namespace, HoldProgram program, Tun tun, int tunIfindex) {
        this.namespace = namespace;
        this.program = program;
        this.tun = tun;
        this.tunIfindex = tunIfindex;
        this.ip = tun.offloads() ? Tun.VNET_HEADER : 0;
        this.reader = Thread.ofPlatform().daemon().name("hold-reader-" + namespace.name()).unstarted(this::readLoop);
    }

    /**
     * Attaches to {@code interfaceName} of {@code namespace} and creates the TUN device {@code tunName}
     * there (one per namespace).
     */
    public static HoldPlane start(NetworkNamespace namespace, String interfaceName, String tunName) throws IOException {
        HoldPlane plane;
        try {
            plane = namespace.call(() -> {
                Tun tun = Tun.create(tunName, TUN_QUEUE, true);
                try {
                    acceptForeignSources(tunName);
                    int tunIndex = Libc.ifNameToIndex(tunName);
                    HoldProgram program = HoldProgram.attach(interfaceName);
                    try {
                        return new HoldPlane(namespace, program, tun, tunIndex);
                    } catch (RuntimeException e) {
                        program.close();
                        throw e;
                    }
                } catch (Exception e) {
                    tun.close();
                    throw e;
                }
            });
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot start the hold plane in " + namespace + ": " + e.getMessage(), e);
        }
        plane.reader.start();
        return plane;
    }

    /** Packets re-injected through the TUN carry the client's source address, whose route is not the TUN. */
    private static void acceptForeignSources(String tunName) throws IOException {
        Path conf = Path.of("/proc/sys/net/ipv4/conf");
        String all = Files.readString(conf.resolve("all/rp_filter")).strip();
        if (all.equals("1")) {
            throw new IOException("net.ipv4.conf.all.rp_filter is 1 (strict): packets released from the hold would be "
                    + "dropped; set it to 0 or 2");
        }
        Files.writeString(conf.resolve(tunName).resolve("rp_filter"), "0");
    }

    @Override
    public long hold(FlowTuple flow) throws NativeException {
        HeldFlow fresh = new HeldFlow();
        if (held.putIfAbsent(flow, fresh) != null) return -1;
        try {
            // Diverting overwrites a forwarding's entry and resets its counters: only its count needs reading first.
            long forwarded = Math.max(0, forwarded(flow));
            program.flows().divert(flow, tunIfindex);
            handedBack.remove(flow);
            return forwarded;
        } catch (NativeException | RuntimeException e) {
            held.remove(flow, fresh);
            throw e;
        }
    }

    /** What is held for a flow so far, or empty if it isn't held. */
    public Optional<HoldStats> held(FlowTuple flow) {
        HeldFlow h = held.get(flow);
        return h == null ? Optional.empty() : Optional.of(h.stats());
    }

    /**
     * Ends the hold: writes the held packets back into the stack in the order the client sent them ({@link SendingOrder})
     * and returns how many.
     * The flow's later packets keep their order too: they take the same path until nothing of the flow
     * is left in the TUN, then go straight to the stack (see the class comment); {@link #held} turns
     * empty when that hand-over is done.
     */
    @Override
    public int release(FlowTuple flow) throws NativeException {
        ring.lock();
        try {
            HeldFlow h = held.get(flow);
            if (h == null) throw new IllegalArgumentException("flow " + flow + " is not held");
            if (h.releasing) throw new IllegalStateException("flow " + flow + " is being released already");
            int written = h.flush();
            h.releaseStartedNanos = System.nanoTime();
            releasing.put(flow, h);
            drainRing();
            handOver();
            releasingCount = releasing.size();
            return written;
        } finally {
            ring.unlock();
        }
    }

    /**
     * Ends the hold and throws the held packets away, for a migration that is rolled back: the client
     * retransmits them to wherever the flow now goes. Returns how many were discarded.
     */
    @Override
    public int discard(FlowTuple flow) throws NativeException {
        return endHold(flow, null);
    }

    @Override
    public int handBack(FlowTuple flow, InetAddress source) throws NativeException {
        if (source.getClass() != flow.local().getAddress().getClass()) {
            throw new IllegalArgumentException("hand-back destination " + source + " is not of the flow's family: " + flow);
        }
        return endHold(flow, source);
    }

    /** Ends a hold that was not released, dropping what it kept; with {@code handBackTo}, forwarding the flow there. */
    private int endHold(FlowTuple flow, InetAddress handBackTo) throws NativeException {
        ring.lock();
        try {
            HeldFlow h = held.get(flow);
            if (h == null) throw new IllegalArgumentException("flow " + flow + " is not held");
            if (h.releasing) {
                throw new IllegalStateException("flow " + flow + " is being released: too late to " + (handBackTo == null ? "discard" : "hand back"));
            }
            if (handBackTo == null) {
                program.flows().remove(flow);
            } else {
                // One map update turns the hold into the forwarding, so no packet of the flow meets this stack in between;
                // what of it still comes out of the TUN is dropped (dispatch): there is no socket here for it.
                handedBack.add(flow);
                try {
                    program.flows().forward(flow, HoldAction.forward(Optional.of(handBackTo)));
                } catch (NativeException | RuntimeException e) {
                    handedBack.remove(flow);
                    throw e;
                }
            }
            held.remove(flow);
            int count = h.queue.size();
            h.queue.clear();
            heldBytes.addAndGet(-h.queuedBytes);
            drainRing();
            return count;
        } finally {
            ring.unlock();
        }
    }

    /** For each flow being released: publishes what is back in the stack, and finishes when nothing is left behind. */
    private void handOver() throws NativeException {
        if (releasing.isEmpty()) return;
        boolean finished = false;
        for (var it = releasing.entrySet().iterator(); it.hasNext(); ) {
            var entry = it.next();
            FlowTuple flow = entry.getKey();
            HeldFlow h = entry.getValue();
            if (h.published != h.written) {
                program.flows().publishReleased(flow, h.written);
                h.published = h.written;
            }
            boolean caughtUp = program.flows().divertedSegments(flow) <= h.written;
            long now = System.nanoTime();
            if (!caughtUp) h.caughtUpSince = 0;
            else if (h.caughtUpSince == 0) h.caughtUpSince = now;
            // Caught up, the program sends the flow straight to the stack, so the entries could go at once; but a
            // packet on another CPU that read the counters just before the last publish is still diverted, and with
            // the entries gone it would come out of the TUN behind newer segments (a straggler: a reordering the
            // client may answer with a fast retransmit). Such a packet shows within microseconds; give it a while.
            boolean settled = caughtUp && now - h.caughtUpSince >= SETTLE_NANOS;
            if (settled || now - h.releaseStartedNanos > HANDOFF_TIMEOUT_NANOS) {
                if (!caughtUp) handoffTimeouts.incrementAndGet();
                program.flows().remove(flow);
                held.remove(flow);
                it.remove();
                finished = true;
            }
        }
        // A packet diverted while its entry was being removed is written back now, as a straggler.
        if (finished) drainRing();
    }

    /**
     * Source side: sends the flow's packets back to the load balancer, with the destination rewritten to
     * {@code newDestination} if given (same address family as the flow). Takes over a flow still being handed over
     * after its arrival here. Returns the segments passed to the stack since {@link #count}, or -1 if not counted.
     */
    public long forward(FlowTuple flow, Optional<InetAddress> newDestination) throws NativeException {
        newDestination.ifPresent(d -> {
            if (d.getClass() != flow.local().getAddress().getClass()) {
                throw new IllegalArgumentException("forward destination " + d + " is not of the flow's family: " + flow);
            }
        });
        ring.lock();
        try {
            HeldFlow h = held.get(flow);
            if (h != null && !h.releasing) throw new IllegalStateException("flow " + flow + " is held here: it can't leave");
            boolean counting = h == null && program.flows().get(flow).map(a -> a.kind() == HoldAction.Kind.COUNT).orElse(false);
            program.flows().forward(flow, HoldAction.forward(newDestination));
            if (h != null) {
                // A flow that leaves again before the hand-over of its arrival finished (a bulk stream keeps its
                // whole window circulating through the TUN): what was diverted before the switch goes into the
                // stack now, in order, ahead of the source's drain; the hand-over must not remove the forwarding.
                drainRing();
                releasing.remove(flow);
                held.remove(flow);
                releasingCount = releasing.size();
            }
            return counting ? program.flows().countedSegments(flow) : -1;
        } finally {
            ring.unlock();
        }
    }

    @Override
    public long forward(FlowTuple flow, InetAddress target) throws NativeException {
        return forward(flow, Optional.of(target));
    }

    @Override
    public boolean count(FlowTuple flow) throws NativeException {
        ring.lock();
        try {
            if (held.containsKey(flow)) {
                // Arrived moments ago: its hand-over may have settled since the reader last looked.
                drainRing();
                handOver();
                releasingCount = releasing.size();
                if (held.containsKey(flow)) return false;
            }
            program.flows().count(flow);
            return true;
        } finally {
            ring.unlock();
        }
    }

    /**
     * Waits until no packet that the program handled before the latest map change can still be on its
     * way into a local socket (an RCU grace period: about 10 ms on a busy 2-core host). Call it between
     * {@link #forward} and dumping the socket: the dump must see a socket nothing arrives at any more,
     * or what lands after it is acknowledged to the client and lost. Its cost lengthens the target's
     * hold by as much.
     */
    public void fence() throws NativeException {
        Membarrier.global();
    }

    /** Releases whose hand-over to the direct path ran out of time (a possible reordering each). */
    public long handoffTimeouts() {
        return handoffTimeouts.get();
    }

    /** How many packets of the flow were forwarded so far, or -1 if it is not being forwarded. */
    public long forwarded(FlowTuple flow) throws NativeException {
        Optional<HoldAction> action = program.flows().get(flow);
        return action.isPresent() && action.get().kind() == HoldAction.Kind.FORWARD ? action.get().packets() : -1;
    }

    /** Stops forwarding; returns how many packets were forwarded, or -1 if the flow was not forwarded. */
    @Override
    public long stopForwarding(FlowTuple flow) throws NativeException {
        Optional<HoldAction> action = program.flows().get(flow);
        if (action.isEmpty() || action.get().kind() == HoldAction.Kind.DIVERT) return -1;
        program.flows().remove(flow);
        handedBack.remove(flow);
        return action.get().kind() == HoldAction.Kind.FORWARD ? action.get().packets() : -1;
    }

    /** Packets of flows no longer held that were still read from the TUN and written straight back. */
    public long stragglers() {
        return stragglers.get();
    }

    /** Packets dropped because the hold was over its memory bound, the stack refused them, or their flow was handed back. */
    public long dropped() {
        return dropped.get();
    }

    private void readLoop() {
        RealTimeThreads.enter();
        while (running) {
            try {
                // While a release waits for its flow to catch up, look often even when nothing arrives.
                int revents = Libc.poll(tun.fd(), Libc.POLLIN, releasingCount == 0 ? 100 : 1);
                if ((revents & Libc.POLLIN) == 0 && releasingCount == 0) continue;
                ring.lock();
                try {
                    drainRing(BATCH);
                    handOver();
                    releasingCount = releasing.size();
                } finally {
                    ring.unlock();
                }
            } catch (NativeException e) {
                if (running) LOG.log(System.Logger.Level.WARNING, "hold plane reader: " + e.getMessage());
            }
        }
    }

    /** Reads what the TUN has queued now and dispatches it. */
    private void drainRing() throws NativeException {
        drainRing(TUN_QUEUE);
    }

    /** At most {@code limit} packets, so that a busy reader lets a release in between batches. */
    private void drainRing(int limit) throws NativeException {
        for (int i = 0; i < limit; i++) {
            int n = tun.read(readBuffer);
            if (n < 0) return;
            dispatch(readBuffer, n);
        }
    }

    private void dispatch(byte[] packet, int length) {
        FlowTuple flow = FlowTuple.ofPacket(packet, ip, length - ip);
        if (flow == null) return; // the kernel's own traffic out of the TUN (IPv6 solicitations): not a client's
        HeldFlow h = held.get(flow);
        if (h != null && !h.releasing) {
            if (heldBytes.get() + length > MAX_HELD_BYTES) {
                dropped.incrementAndGet();
                return;
            }
            h.add(java.util.Arrays.copyOf(packet, length), FlowTuple.payloadLength(packet, ip, length - ip));
            return;
        }
        if (h != null) {
            h.written += segments(packet, length);
        } else if (handedBack.contains(flow)) {
            dropped.incrementAndGet();
            return;
        } else {
            stragglers.incrementAndGet();
        }
        inject(packet, 0, length);
    }

    /**
     * How many segments the program counted for this packet: a GSO burst (read whole, thanks to the
     * offloads) is {@code ceil(payload / gso_size)} of them, as the kernel's {@code gso_segs} says.
     */
    private int segments(byte[] packet, int length) {
        if (!tun.offloads()) return 1;
        int gsoType = packet[1] & 0xff;
        int gsoSize = (packet[4] & 0xff) | (packet[5] & 0xff) << 8; // virtio_net_hdr is little-endian here
        if (gsoType == 0 || gsoSize == 0) return 1;
        int payload = FlowTuple.payloadLength(packet, Tun.VNET_HEADER, length - Tun.VNET_HEADER);
        return Math.max(1, (payload + gsoSize - 1) / gsoSize);
    }

    private void inject(byte[] packet, int offset, int length) {
        try {
            tun.write(packet, offset, length);
        } catch (NativeException e) {
            // The stack refused one segment (e.g. out of memory): the client retransmits it.
            dropped.incrementAndGet();
        }
    }

    /** Held packets that arrived behind a later segment of their flow (put back in order at release). */
    public long reorderedArrivals() {
        return reorderedArrivals.get();
    }

    /** The plane's counters on one line, for reports. */
    public String describeCounters() {
        return "hand-over timeouts " + handoffTimeouts() + ", stragglers " + stragglers() + ", dropped " + dropped()
                + ", held packets that arrived out of order " + reorderedArrivals();
    }

    /** Packets and TCP payload bytes held for one flow. */
    public record HoldStats(int packets, long payloadBytes) {
    }

    /** Guarded by {@link #ring} except for {@link #stats}, which reads a consistent-enough snapshot. */
    private final class HeldFlow {
        final SendingOrder queue = new SendingOrder(ip);
        volatile int packets;
        volatile long payloadBytes;
        long queuedBytes;
        boolean releasing;
        long releaseStartedNanos;
        /** When the reader first saw every diverted segment written back (0: not now). */
        long caughtUpSince;
        /** Segments written back into the stack, and the count last published to the program. */
        long written, published;

        void add(byte[] packet, int payload) {
            if (queue.add(packet, payload)) reorderedArrivals.incrementAndGet();
            queuedBytes += packet.length;
            heldBytes.addAndGet(packet.length);
            packets++;
            payloadBytes += payload;
        }

        /** Writes the queue in the client's sending order; from now on the flow's packets go back as they are read. */
        int flush() {
            releasing = true;
            byte[][] ordered = queue.take();
            for (byte[] p : ordered) {
                inject(p, 0, p.length);
                written += segments(p, p.length);
            }
            int count = ordered.length;
            heldBytes.addAndGet(-queuedBytes);
            queuedBytes = 0;
            return count;
        }

        HoldStats stats() {
            return new HoldStats(packets, payloadBytes);
        }
    }

    /** Stops the reader, detaches the program and removes the TUN; held packets are dropped. */
    @Override
    public void close() throws IOException {
        running = false;
        try {
            reader.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            namespace.call((Callable<Void>) () -> {
                program.close();
                return null;
            });
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot detach the hold plane in " + namespace + ": " + e.getMessage(), e);
        } finally {
            tun.close();
        }
    }
}
