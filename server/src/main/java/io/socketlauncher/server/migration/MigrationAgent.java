package io.socketlauncher.server.migration;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.proxy.control.ControlChannel;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.Frame;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.ProtocolException;
import io.socketlauncher.proxy.control.ServerMessages;
import io.socketlauncher.repair.MalformedStateException;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.sys.RealTimeThreads;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The target's side: serves peers' migrations over authenticated channels (the proxy's control framing and
 * handshake, the 0x02xx message types). Per migration: XFER_PREPARE starts the hold and is answered HOLDING;
 * XFER_PART/XFER bring the state, which is restored here, the held segments released into the new socket, the
 * connection handed to the application, and XFERED sent. XFER_ABORT stops a migration that has not committed.
 *
 * <p>A hold is never given up on the target's own initiative while the source may still need it, except after
 * the guard timeout: segments of a flow the proxy sends here with neither a hold nor a socket would draw a
 * reset. Connections are served on threads of {@code threads}, which must run in the server's namespace (the
 * restored socket is created in the caller's namespace).
 */
public final class MigrationAgent implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MigrationAgent.class.getName());
    /** Larger than any socket buffer the kernel lets a connection have, with the application blob. */
    public static final long MAX_TRANSFER_BYTES = 64L << 20;
    private static final Duration IDLE = Duration.ofMinutes(10);

    private final MigrationContext context;
    /**
     * A java.net listener, not a ServerSocketChannel: a channel's socket switches its descriptor to non-blocking and
     * back (four fcntl calls) for every read with a timeout, about 24 system calls per migration here.
     */
    private final ServerSocket listener;
    private final ThreadFactory threads;
    private final Arrivals arrivals;
    private final Predicate<ServerMessages.Prepare> admission;
    /** By id, until committed or ended. */
    private final Map<Long, Incoming> migrations = new ConcurrentHashMap<>();
    /** Committed ones, for the guard time: a source that missed XFERED asks about them. */
    private final CommittedMigrations committed;
    /**
     * Flows whose hold was handed back to their source, and the migration: the source's DISCARD for it ends the
     * forwarding. Keyed by flow, since every XFER_PREPARE looks here and an abort seldom does.
     */
    private final Map<FlowTuple, Long> handedBack = new ConcurrentHashMap<>();
    /** The migration of each flow that is still holding: a new one of the same flow supersedes it. */
    private final Map<FlowTuple, Incoming> holdingByFlow = new ConcurrentHashMap<>();
    /**
     * Each holds a thread here. A source has at most its migration threads' worth of channels busy here and pools
     * 64 idle ones; past this many, whoever connects, authenticated or not, is refused.
     */
    static final int MAX_CONNECTIONS = 4096;
    /** {@link #MAX_CONNECTIONS}; lower only in a test, which can't open thousands. */
    private volatile int maxConnections = MAX_CONNECTIONS;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    /** One migration coming here; guarded by its own monitor. */
    private final class Incoming {
        final long id;
        final ServerMessages.Prepare prepare;
        final FlowTuple flow;
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        boolean committed, aborted, holding = true;
        ScheduledFuture<?> guard;

        Incoming(long id, ServerMessages.Prepare prepare, FlowTuple flow) {
            this.id = id;
            this.prepare = prepare;
            this.flow = flow;
        }

        /** Ends the hold, dropping what it kept (the client retransmits it wherever the flow points now). */
        synchronized void discard(String why) {
            if (!holding) return;
            holding = false;
            aborted = true;
            migrations.remove(id, this);
            holdingByFlow.remove(flow, this);
            if (guard != null) guard.cancel(false);
            try {
                context.plane.discard(flow);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "discarding the hold of " + flow + ": " + e.getMessage());
            }
            LOG.log(System.Logger.Level.DEBUG, () -> "migration " + Long.toHexString(id) + " of " + flow + " ended here: " + why);
        }

        /**
         * Ends the hold by forwarding the flow to the source, which kept the connection but could not make sure the
         * proxy points the flow back at it. Returns whether it did; if not, the hold stays (until the guard timeout),
         * since discarding it would leave the flow's segments to meet a stack with no socket for them.
         */
        synchronized boolean handBack(String why) {
            if (!holding) return false;
            try {
                context.handBack(flow, prepare.sourceLocal().getAddress());
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot hand " + flow + " back to " + prepare.sourceId() + ": " + e.getMessage());
                return false;
            }
            holding = false;
            aborted = true;
            migrations.remove(id, this);
            holdingByFlow.remove(flow, this);
            if (guard != null) guard.cancel(false);
            handedBack.put(flow, id);
            try {
                // The forwarding ends by then at the latest (MigrationContext.handBack), and the record with it.
                context.scheduler.schedule(() -> handedBack.remove(flow, id), ServerMessages.Disposition.HAND_BACK_LIMIT.toMillis(),
                        TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                // the server is closing: the record goes with it
            }
            LOG.log(System.Logger.Level.WARNING, "migration " + Long.toHexString(id) + " of " + flow + " handed back to "
                    + prepare.sourceId() + ": " + why);
            return true;
        }
    }

    private MigrationAgent(MigrationContext context, ServerSocket listener, ThreadFactory threads, Arrivals arrivals,
                           Predicate<ServerMessages.Prepare> admission) {
        this.context = context;
        this.listener = listener;
        this.threads = threads;
        this.arrivals = arrivals;
        this.admission = admission;
        this.committed = new CommittedMigrations(context.timeouts.guard().toNanos());
        this.acceptor = threads.newThread(this::acceptLoop);
        acceptor.setName("sl-agent-accept-" + context.id);
        acceptor.setDaemon(true);
    }

    /**
     * Serves on {@code listener} (bound already, in the server's namespace). {@code admission} decides whether
     * this server takes a connection at all (false: the source is refused and keeps it).
     */
    public static MigrationAgent start(MigrationContext context, ServerSocket listener, ThreadFactory threads,
                                       Arrivals arrivals, Predicate<ServerMessages.Prepare> admission) {
        MigrationAgent agent = new MigrationAgent(context, listener, threads, arrivals, admission);
        agent.acceptor.start();
        return agent;
    }

    void maxConnections(int max) {
        this.maxConnections = max;
    }

    private void acceptLoop() {
        // A source opens a channel per migration it has in flight beyond the pooled ones, and waits for this accept: an
        // ordinary thread here waited behind the real-time migrations of both servers, 0.1-0.6 s at a burst's start.
        RealTimeThreads.enter();
        while (!closed) {
            Socket socket;
            try {
                socket = listener.accept();
            } catch (IOException e) {
                if (closed || listener.isClosed()) return;
                LOG.log(System.Logger.Level.WARNING, "agent accept failed: " + e.getMessage());
                sleep(100);
                continue;
            }
            if (connections.size() >= maxConnections) {
                refuseBusy(socket);
                continue;
            }
            connections.add(socket);
            Thread t = threads.newThread(() -> {
                try {
                    serve(socket);
                } finally {
                    connections.remove(socket);
                }
            });
            t.setName("sl-agent-" + socket.getRemoteSocketAddress());
            t.setDaemon(true);
            t.start();
        }
    }

    /** The source hears why in its handshake and keeps its connection. */
    private void refuseBusy(Socket socket) {
        try (socket) {
            ControlChannel.server(socket, context.timeouts.prepare(), context.timeouts.prepare()).sendError(
                    ErrorCode.TOO_MANY_CONNECTIONS, 0, "server " + context.id + "'s migration agent already serves "
                            + maxConnections + " connections");
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "refusing an agent connection failed: " + e);
        }
    }

    private void serve(Socket socket) {
        RealTimeThreads.enter();
        try (socket) {
            socket.setTcpNoDelay(true);
            ControlChannel channel = ControlChannel.server(socket, context.timeouts.prepare(), context.timeouts.prepare());
            try {
                channel.acceptHandshake(context.key);
                channel.idleTimeout(IDLE);
                while (!closed) handle(channel, channel.receive());
            } catch (ProtocolException e) {
                LOG.log(System.Logger.Level.DEBUG, () -> "agent peer " + socket.getRemoteSocketAddress() + " rejected: " + e.getMessage());
                channel.sendError(e.code(), e.requestId(), e.getMessage());
            }
        } catch (EOFException e) {
            // the peer closed between two frames
        } catch (IOException e) {
            if (!closed) LOG.log(System.Logger.Level.DEBUG, () -> "agent connection ended: " + e);
        }
    }

    private void handle(ControlChannel channel, Frame frame) throws IOException {
        MessageType type = frame.messageType();
        int request = frame.requestId();
        switch (type) {
            case PING -> channel.send(MessageType.PONG, request, new byte[0]);
            case XFER_PREPARE -> prepare(channel, request, ServerMessages.decodePrepare(frame.payload()));
            case XFER_PART -> part(ServerMessages.decodePart(frame.payload()), false);
            case XFER -> {
                ServerMessages.Chunk last = ServerMessages.decodeLast(frame.payload());
                Incoming in = part(last, true);
                if (in != null) commit(channel, request, in, last.total());
                else channel.sendError(ErrorCode.INVALID_ARGUMENT, request, "no migration " + Long.toHexString(last.migration()) + " in progress here");
            }
            case XFER_ABORT -> abort(channel, request, ServerMessages.decodeAbort(frame.payload()));
            default -> throw new ProtocolException(ErrorCode.UNEXPECTED_TYPE, request, type + " is not a request a migration agent answers");
        }
    }

    private void prepare(ControlChannel channel, int request, ServerMessages.Prepare p) throws IOException {
        if (closed || !admission.test(p)) {
            channel.sendError(ErrorCode.OPERATION_FAILED, request, "server " + context.id + " takes no connections now");
            return;
        }
        if (!p.vip().equals(context.service) || p.client().getAddress().getClass() != context.local.getAddress().getClass()) {
            channel.sendError(ErrorCode.INVALID_ARGUMENT, request, "server " + context.id + " serves " + context.service + ", not "
                    + p.vip() + " for " + p.client());
            return;
        }
        FlowTuple flow = new FlowTuple(p.client(), context.local);
        // The hold below replaces a hand-back's forwarding of the flow, if there is one: a late DISCARD must not end it.
        handedBack.remove(flow);
        // A stale migration of the same flow (its source gave up without telling us) makes way for this one.
        Incoming old = holdingByFlow.get(flow);
        if (old != null) old.discard("superseded by " + Long.toHexString(p.migration()));
        Incoming in = new Incoming(p.migration(), p, flow);
        if (migrations.putIfAbsent(in.id, in) != null) {
            channel.sendError(ErrorCode.INVALID_ARGUMENT, request, "migration " + Long.toHexString(in.id) + " exists already");
            return;
        }
        holdingByFlow.put(flow, in);
        try {
            context.hold(flow);
        } catch (IOException | RuntimeException | InterruptedException e) {
            migrations.remove(in.id, in);
            holdingByFlow.remove(flow, in);
            channel.sendError(ErrorCode.OPERATION_FAILED, request, "cannot hold " + flow + ": " + e.getMessage());
            return;
        }
        synchronized (in) {
            in.guard = context.scheduler.schedule(() -> guardExpired(in), context.timeouts.guard().toMillis(), TimeUnit.MILLISECONDS);
        }
        channel.send(MessageType.HOLDING, request, ServerMessages.holding(new ServerMessages.Holding(in.id, context.local)));
    }

    private void guardExpired(Incoming in) {
        synchronized (in) {
            if (in.committed) return;
            LOG.log(System.Logger.Level.WARNING, "migration " + Long.toHexString(in.id) + " from " + in.prepare.sourceId()
                    + ": no word from the source in " + context.timeouts.guard().toSeconds() + " s; ending the hold of " + in.flow);
            in.discard("guard timeout");
        }
    }

    /** Appends a chunk; returns the migration, or null if there is none to append to (then nothing is kept). */
    private Incoming part(ServerMessages.Chunk chunk, boolean last) throws ProtocolException {
        Incoming in = migrations.get(chunk.migration());
        if (in == null) return null;
        synchronized (in) {
            if (in.committed || in.aborted) return last ? null : in;
            if (in.data.size() + (long) chunk.data().length > MAX_TRANSFER_BYTES) {
                throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE, "transfer of migration " + Long.toHexString(in.id)
                        + " exceeds " + MAX_TRANSFER_BYTES + " bytes");
            }
            in.data.writeBytes(chunk.data());
        }
        return in;
    }

    /** Restore, release, hand over, confirm. A failure leaves the hold in place: the source rolls back, then aborts. */
    private void commit(ControlChannel channel, int request, Incoming in, long total) throws IOException {
        int fd;
        TransferBlob blob = null;
        synchronized (in) {
            // An XFER_ABORT may have come in since part() let go of the lock: it was answered "not committed", and the
            // source resumes its socket. Restoring now would make two.
            if (in.aborted || in.committed) {
                channel.sendError(ErrorCode.INVALID_ARGUMENT, request, "migration " + Long.toHexString(in.id)
                        + (in.committed ? " is committed already" : " was aborted"));
                return;
            }
            byte[] bytes = in.data.toByteArray();
            if (bytes.length != total) {
                channel.sendError(ErrorCode.INVALID_ARGUMENT, request, "XFER says " + total + " bytes, " + bytes.length + " arrived");
                return;
            }
            try {
                blob = TransferBlob.decode(bytes);
                TcpState arrived = blob.state();
                if (!arrived.remote().equals(in.prepare.client())) {
                    throw new MalformedStateException("state of " + arrived.remote() + " for the flow of " + in.prepare.client(), 0);
                }
                // The proxy sends the flow to this server's own address (NAT): the socket is bound to it here.
                TcpState here = new TcpState(context.local, arrived.remote(), arrived.state(), arrived.sendSeq(),
                        arrived.receiveSeq(), arrived.sendQueue(), arrived.unsentLength(), arrived.receiveQueue(),
                        arrived.options(), arrived.window(), arrived.settings());
                // Failing, the new socket is dropped silently: the source takes over again.
                fd = context.repair.restoreAndRelease(here, context.plane, in.flow);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "migration " + Long.toHexString(in.id) + ": restore of " + in.flow
                        + " failed: " + e.getMessage() + (blob != null ? "; state " + blob.state() : ""));
                channel.sendError(ErrorCode.OPERATION_FAILED, request, "restore of " + in.flow + " failed: " + e.getMessage());
                return;
            }
            in.committed = true;
            in.holding = false;
            holdingByFlow.remove(in.flow, in);
            if (in.guard != null) in.guard.cancel(false);
            // Only the id is remembered, for the guard time: a source that missed XFERED asks with XFER_ABORT and must
            // hear "committed".
            committed.add(in.id, System.nanoTime());
            migrations.remove(in.id, in);
        }
        arrivals.arrived(fd, in.prepare.client(), context.local, blob.applicationState(), in.prepare.sourceId());
        channel.send(MessageType.XFERED, request, ServerMessages.migration(in.id));
    }

    private void abort(ControlChannel channel, int request, ServerMessages.Abort a) throws IOException {
        Incoming in = migrations.get(a.migration());
        if (in == null) {
            boolean done = committed.contains(a.migration(), System.nanoTime());
            FlowTuple forwarding = handedBackFlow(a.migration());
            if (a.disposition() == ServerMessages.Disposition.HAND_BACK && !done && forwarding == null) {
                // Its hold is gone (the guard timeout, a superseding migration, a restart): nothing would reach the source.
                channel.sendError(ErrorCode.OPERATION_FAILED, request, "migration " + Long.toHexString(a.migration())
                        + " holds nothing here to hand back");
                return;
            }
            if (forwarding != null && a.disposition() == ServerMessages.Disposition.DISCARD
                    && handedBack.remove(forwarding, a.migration())) {
                // The source has pointed the flow back at itself: the hand-back's forwarding is no longer needed.
                try {
                    context.stopForwarding(forwarding);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "ending the hand-back of " + forwarding + ": " + e.getMessage());
                }
            }
            // Committed within the guard time, handed back already (a repeat), or unknown: never prepared here, or
            // discarded already.
            channel.send(MessageType.XFER_ABORTED, request, ServerMessages.aborted(new ServerMessages.Aborted(a.migration(), done)));
            return;
        }
        boolean serving, handBackRefused = false;
        synchronized (in) {
            serving = in.committed;
            if (!serving) {
                in.aborted = true;
                switch (a.disposition()) {
                    case KEEP -> { }
                    case DISCARD -> in.discard(a.reason());
                    case HAND_BACK -> handBackRefused = !in.handBack(a.reason());
                }
            }
        }
        if (handBackRefused) {
            channel.sendError(ErrorCode.OPERATION_FAILED, request, "cannot hand " + in.flow + " back: its hold stays until the guard"
                    + " timeout");
            return;
        }
        channel.send(MessageType.XFER_ABORTED, request, ServerMessages.aborted(new ServerMessages.Aborted(a.migration(), serving)));
    }

    private FlowTuple handedBackFlow(long migration) {
        for (Map.Entry<FlowTuple, Long> e : handedBack.entrySet()) if (e.getValue() == migration) return e.getKey();
        return null;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
        for (Socket s : connections) s.close();
        for (Incoming in : migrations.values()) in.discard("agent closed");
    }
}
