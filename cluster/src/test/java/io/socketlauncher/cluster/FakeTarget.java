package io.socketlauncher.cluster;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.proxy.control.ControlChannel;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.Frame;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.ServerMessages;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.Host;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A target agent that fails at one chosen step of the protocol. Until then it behaves as the real one: it holds the
 * flow for real (on s2's data plane) and answers HOLDING; it never restores, so it never answers XFERED. XFER_ABORT
 * is honoured (the hold discarded, "not committed"). Each channel is served on its own thread, as the real agent
 * does, so that a source's XFER_ABORT on a fresh channel is answered while another channel is stalled.
 *
 * <p>{@link Action#DIE} is what a {@code kill -9} of the target's process does to everything the source can see:
 * the listener disappears (new channels are refused), each open channel is closed by the kernel (a FIN, or a
 * reset if frames lay unread in it), and the hold stays in the data plane with nobody to release it (a dead
 * process's TC program and map entry outlive it; its TUN vanishes), so the segments it caught are lost and the
 * client must send them again wherever the flow points next.
 */
final class FakeTarget implements AutoCloseable {
    /** The failures of the first fault tests: after the dump, the target refuses XFER or never answers it. */
    enum Failure { REFUSE_XFER, IGNORE_XFER }

    /** Where in the protocol the fake target fails. */
    enum Point {
        /** Nowhere: the fake target behaves (for faults elsewhere, e.g. at the proxy). */
        NEVER,
        /** XFER_PREPARE arrived (the flow is held already, as the real agent holds before it answers). */
        PREPARE,
        /** Just after HOLDING went out, before the source asks the proxy to redirect. */
        HOLDING_SENT,
        /** When the test calls {@link #fail()}: e.g. once the proxy has carried out the redirect. */
        ON_CUE,
        /** The first frame of the transfer (XFER_PART or XFER) is arriving, unread. */
        XFER_ARRIVING,
        /** XFER, the transfer's last frame, was read. */
        XFER
    }

    enum Action {
        /** An ERROR (OPERATION_FAILED), as the real agent refuses; the channel stays open. */
        REFUSE,
        /** The answer comes after the source's timeout: HOLDING (with the flow held) or, to XFER, a refusal. */
        ANSWER_LATE,
        /** No answer ever; the channel stays open. */
        SILENT,
        /** The process dies (see the class comment). */
        DIE
    }

    private final ServerSocketChannel listener;
    private final HoldPlane plane;
    private final InetSocketAddress local;
    private final Point point;
    private final Action action;
    private final Duration late;
    private final byte[] key;
    private final Thread acceptor;
    private final Set<Socket> channels = ConcurrentHashMap.newKeySet();
    private final Set<FlowTuple> held = ConcurrentHashMap.newKeySet();
    final AtomicInteger aborts = new AtomicInteger();
    /** How many times the fake target reached its failure point. */
    final AtomicInteger failures = new AtomicInteger();
    private volatile boolean dead;

    FakeTarget(Host host, HoldPlane plane, byte[] key, InetSocketAddress listen, InetSocketAddress local, Failure failure) throws Exception {
        this(host, plane, key, listen, local, Point.XFER, failure == Failure.REFUSE_XFER ? Action.REFUSE : Action.SILENT, Duration.ZERO);
    }

    /** {@code late}: how long an {@link Action#ANSWER_LATE} answer waits (longer than the source's bound for that step). */
    FakeTarget(Host host, HoldPlane plane, byte[] key, InetSocketAddress listen, InetSocketAddress local, Point point,
               Action action, Duration late) throws Exception {
        if (point == Point.HOLDING_SENT && action != Action.DIE || point == Point.ON_CUE && action != Action.DIE
                || point == Point.XFER_ARRIVING && action != Action.DIE) {
            throw new IllegalArgumentException("at " + point + " the target has nothing to answer: only DIE applies, not " + action);
        }
        this.key = key.clone();
        this.plane = plane;
        this.local = local;
        this.point = point;
        this.action = action;
        this.late = late;
        this.listener = host.namespace().call(() -> ServerSocketChannel.open().bind(listen));
        this.acceptor = Thread.ofPlatform().daemon().name("fake-target").start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (listener.isOpen()) {
            try {
                Socket s = listener.accept().socket();
                channels.add(s);
                Thread.ofPlatform().daemon().name("fake-target-channel").start(() -> serve(s));
            } catch (IOException e) {
                return; // closed: the fake target died or the test ends
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            ControlChannel ch = ControlChannel.server(s, Duration.ofSeconds(5), Duration.ofSeconds(5));
            ch.acceptHandshake(key);
            ch.idleTimeout(Duration.ofSeconds(60));
            boolean prepared = false;
            while (!dead) {
                if (prepared && point == Point.XFER_ARRIVING) {
                    while (s.getInputStream().available() == 0 && !dead) Thread.sleep(1);
                    fail();
                    return;
                }
                Frame f = ch.receive();
                switch (f.messageType()) {
                    case XFER_PREPARE -> {
                        ServerMessages.Prepare p = ServerMessages.decodePrepare(f.payload());
                        FlowTuple flow = new FlowTuple(p.client(), local);
                        if (!(point == Point.PREPARE && action == Action.REFUSE)) { // the real agent refuses before holding
                            if (plane.hold(flow) < 0) throw new IllegalStateException(flow + " is held here already");
                            held.add(flow);
                        }
                        if (point == Point.PREPARE && !act(ch, f, "injected refusal of XFER_PREPARE")) continue;
                        ch.send(MessageType.HOLDING, f.requestId(), ServerMessages.holding(new ServerMessages.Holding(p.migration(), local)));
                        prepared = true;
                        if (point == Point.HOLDING_SENT) fail();
                    }
                    case XFER_PART -> { }
                    case XFER -> {
                        if (point == Point.XFER) act(ch, f, "injected restore failure");
                    }
                    case XFER_ABORT -> {
                        ServerMessages.Abort a = ServerMessages.decodeAbort(f.payload());
                        aborts.incrementAndGet();
                        if (a.disposition() == ServerMessages.Disposition.HAND_BACK) {
                            // Forwarding is the real target's (MigrationFaultTest tests it there); this one refuses.
                            ch.sendError(ErrorCode.OPERATION_FAILED, f.requestId(), "the fake target does not hand back");
                            continue;
                        }
                        if (a.disposition() == ServerMessages.Disposition.DISCARD) discardHolds();
                        ch.send(MessageType.XFER_ABORTED, f.requestId(), ServerMessages.aborted(new ServerMessages.Aborted(a.migration(), false)));
                    }
                    default -> ch.sendError(ErrorCode.UNEXPECTED_TYPE, f.requestId(), "not here");
                }
            }
        } catch (IOException e) {
            // the source closed the channel, or the fake target died or closes
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            channels.remove(s);
        }
    }

    /** Carries out the action at the failure point; returns whether the normal answer should follow (ANSWER_LATE). */
    private boolean act(ControlChannel ch, Frame f, String refusal) throws IOException, InterruptedException {
        failures.incrementAndGet();
        switch (action) {
            case REFUSE -> ch.sendError(ErrorCode.OPERATION_FAILED, f.requestId(), refusal);
            case ANSWER_LATE -> {
                Thread.sleep(late.toMillis());
                // Late to PREPARE: the answer as usual. Late to XFER: the source has asked us to stop meanwhile, and
                // the real agent then refuses the transfer it can no longer commit.
                if (f.messageType() == MessageType.XFER_PREPARE) return true;
                ch.sendError(ErrorCode.INVALID_ARGUMENT, f.requestId(), "no migration in progress here (answered late)");
            }
            case SILENT -> { }
            case DIE -> die();
        }
        return false;
    }

    /** Makes the fake target fail now: for {@link Point#ON_CUE}, or wherever its point is reached. */
    void fail() {
        if (point != Point.ON_CUE && point != Point.HOLDING_SENT && point != Point.XFER_ARRIVING) {
            throw new IllegalStateException("the fake target fails on its own at " + point);
        }
        failures.incrementAndGet();
        die();
    }

    private void die() {
        dead = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing it is all a dying process does
        }
        for (Socket s : channels) {
            try {
                // What the kernel does when the owner dies: a reset if bytes lay unread, a FIN otherwise.
                if (s.getInputStream().available() > 0) s.setSoLinger(true, 0);
                s.close();
            } catch (IOException ignored) {
                // closed already
            }
        }
    }

    private void discardHolds() {
        for (FlowTuple flow : held) {
            if (held.remove(flow)) {
                try {
                    plane.discard(flow);
                } catch (NativeException | RuntimeException e) {
                    // discarded by another channel's abort meanwhile
                }
            }
        }
    }

    @Override
    public void close() throws Exception {
        die();
        acceptor.join(5_000);
        discardHolds();
    }
}
