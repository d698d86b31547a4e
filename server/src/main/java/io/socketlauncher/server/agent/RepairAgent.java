package io.socketlauncher.server.agent;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.repair.MalformedStateException;
import io.socketlauncher.repair.TcpRepair;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.repair.TcpStateCodec;
import io.socketlauncher.server.agent.AgentProtocol.AgentProtocolException;
import io.socketlauncher.server.agent.AgentProtocol.Frame;
import io.socketlauncher.server.agent.AgentProtocol.Type;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.server.migration.DepartureException;
import io.socketlauncher.server.migration.SocketRepair;
import io.socketlauncher.sys.Errno;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.RealTimeThreads;
import io.socketlauncher.sys.UnixSockets;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;

/**
 * The privileged half of the privilege split: a small process (or thread) with CAP_NET_ADMIN that does
 * the TCP_REPAIR work for applications that lack it, as passt's helper does. Applications hand it their
 * sockets over a unix socket (SCM_RIGHTS) and get restored sockets back; see {@link AgentProtocol}.
 *
 * <p>Who may ask is decided by the socket file's permissions. A client can only dump sockets it already
 * holds, but a restore creates a connection with any addresses and sequence numbers the state names,
 * so grant access only to the applications the host runs. Restored sockets live in the network
 * namespace of the threads {@code threads} makes: the host's, normally.
 */
public final class RepairAgent implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RepairAgent.class.getName());

    private static final int S_IFMT = 0170000, S_IFSOCK = 0140000;

    private final Path path;
    /** The inode of the socket file this agent bound, so that close() removes only its own. */
    private final Object socketFile;
    private final HoldPlane plane;
    private final int listener;
    private final ThreadFactory threads;
    /** Each holds a (real-time) thread here; a client opens one per request in flight beyond its pooled ones. */
    static final int MAX_CONNECTIONS = 4096;
    /** {@link #MAX_CONNECTIONS}; lower only in a test, which can't open thousands. */
    private volatile int maxConnections = MAX_CONNECTIONS;
    private final Set<Integer> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean running = true;

    private RepairAgent(Path path, Object socketFile, int listener, ThreadFactory threads, HoldPlane plane) {
        this.path = path;
        this.socketFile = socketFile;
        this.plane = plane;
        this.listener = listener;
        this.threads = threads;
        this.acceptor = threads.newThread(this::acceptLoop);
    }

    /**
     * Listens at {@code path} with the given file permissions, replacing a socket left there by an agent that died, but
     * neither a live agent's socket nor any other kind of file ({@link #checkPath}).
     */
    public static RepairAgent start(Path path, Set<PosixFilePermission> permissions, ThreadFactory threads) throws IOException {
        return start(path, permissions, threads, null);
    }

    /**
     * Also serves the flow requests of migrations (hold, release, forward) with {@code plane}, the hold plane of
     * the server namespace {@code threads} enter: the node agent of a server whose application is unprivileged.
     * The caller closes the plane after the agent.
     */
    public static RepairAgent start(Path path, Set<PosixFilePermission> permissions, ThreadFactory threads, HoldPlane plane)
            throws IOException {
        if (checkPath(path)) Files.delete(path);
        int fd = UnixSockets.socket();
        boolean bound = false;
        Object socketFile;
        try {
            UnixSockets.bind(fd, path.toString());
            bound = true;
            socketFile = Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS);
            Files.setPosixFilePermissions(path, permissions);
            Libc.listen(fd, 64);
        } catch (IOException | RuntimeException e) {
            Libc.closeQuietly(fd);
            if (bound) Files.deleteIfExists(path);
            throw e;
        }
        RepairAgent agent = new RepairAgent(path, socketFile, fd, threads, plane);
        agent.acceptor.start();
        return agent;
    }

    /**
     * Whether {@code path} holds a socket an agent that died left behind (true: to be replaced), or nothing (false);
     * throws if it holds a live agent's socket (it answers a connect) or anything but a socket.
     */
    public static boolean checkPath(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) return false;
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) throw new IOException(path + " exists and is not a socket: not replacing it");
        int probe = UnixSockets.socket();
        try {
            UnixSockets.connect(probe, path.toString());
            throw new IOException("an agent is listening at " + path + " already");
        } catch (NativeException e) {
            if (e.is(Errno.ECONNREFUSED)) return true;
            throw new IOException("cannot tell whether " + path + " is a live agent's socket: " + e.getMessage(), e);
        } finally {
            Libc.closeQuietly(probe);
        }
    }

    public Path path() {
        return path;
    }

    void maxConnections(int max) {
        this.maxConnections = max;
    }

    private void acceptLoop() {
        // Clients open a connection per concurrent request beyond their pooled ones, in the middle of a migration.
        RealTimeThreads.enter();
        while (running) {
            try {
                if ((Libc.poll(listener, Libc.POLLIN, 200) & Libc.POLLIN) == 0) continue;
                int connection = Libc.accept(listener, Libc.SOCK_CLOEXEC);
                if (connections.size() >= maxConnections) {
                    try {
                        AgentProtocol.sendError(connection, 0, "already serves " + maxConnections + " connections, its limit");
                    } finally {
                        Libc.closeQuietly(connection);
                    }
                    continue;
                }
                connections.add(connection);
                threads.newThread(() -> serve(connection)).start();
            } catch (NativeException e) {
                if (running) LOG.log(System.Logger.Level.WARNING, "repair agent: " + e.getMessage());
            }
        }
    }

    private void serve(int connection) {
        boolean realtime = RealTimeThreads.enter();
        try {
            UnixSockets.PeerCredentials peer = UnixSockets.peerCredentials(connection);
            LOG.log(System.Logger.Level.DEBUG, "repair agent: client pid " + peer.pid() + " uid " + peer.uid());
            for (Frame request; running && (request = AgentProtocol.receive(connection)) != null; ) {
                handle(connection, request, realtime);
            }
        } catch (AgentProtocolException e) {
            // The stream can't be resynchronised after garbage: say why, then hang up.
            try {
                AgentProtocol.sendError(connection, 0, e.getMessage());
                lingerForReply(connection);
            } catch (NativeException ignored) {
                // the client is gone already
            }
        } catch (IOException e) {
            if (running) LOG.log(System.Logger.Level.DEBUG, "repair agent connection: " + e.getMessage());
        } finally {
            connections.remove(connection);
            Libc.closeQuietly(connection);
        }
    }

    /**
     * Closing a unix socket with unread input resets the peer before it reads our last frame, so
     * signal the end, then discard what the client still sends, for a bounded time and amount.
     */
    private static void lingerForReply(int connection) throws NativeException {
        Libc.shutdown(connection, Libc.SHUT_WR);
        byte[] discard = new byte[64 * 1024];
        long deadline = System.nanoTime() + 1_000_000_000L;
        for (int total = 0; total < (1 << 20) && System.nanoTime() < deadline; ) {
            if (Libc.poll(connection, Libc.POLLIN, 100) == 0) continue;
            int n = Libc.recv(connection, discard, 0, discard.length, Libc.MSG_DONTWAIT);
            if (n == 0) return;
            if (n > 0) total += n;
        }
    }

    /** {@code realtime}: whether this thread is real-time, for the drain of a DEPART (it blocks rather than spins). */
    private void handle(int connection, Frame request, boolean realtime) throws IOException {
        int fd = request.fd();
        try {
            switch (request.type()) {
                case DUMP -> {
                    requireEmpty(request);
                    // Our copy of the socket is closed right away; the socket stays in repair mode, so the
                    // application's close is the silent one.
                    TcpState state = TcpRepair.capture(fd);
                    AgentProtocol.send(connection, Type.DUMPED, TcpStateCodec.encode(state), -1);
                }
                case RESUME -> {
                    requireEmpty(request);
                    TcpRepair.resume(fd);
                    AgentProtocol.send(connection, Type.RESUMED, new byte[0], -1);
                }
                case RESTORE, RESTORE_HELD -> {
                    TcpState state = TcpStateCodec.decode(request.body());
                    int restored = request.type() == Type.RESTORE ? TcpRepair.restore(state)
                            : SocketRepair.LOCAL.restoreForRelease(state);
                    try {
                        AgentProtocol.send(connection, Type.RESTORED, new byte[0], restored);
                    } finally {
                        Libc.closeQuietly(restored);
                    }
                }
                case RESTORE_RELEASE -> restoreAndRelease(connection, request.body());
                case DEPART -> depart(connection, request, realtime);
                case HOLD, RELEASE, DISCARD, COUNT, FORWARD, STOP_FORWARDING, HAND_BACK -> flow(connection, request);
                default -> throw new AgentProtocolException(request.type() + " is a reply, not a request");
            }
        } catch (MalformedStateException e) {
            AgentProtocol.sendError(connection, 0, "malformed TCP state: " + e.getMessage());
        } catch (NativeException e) {
            AgentProtocol.sendError(connection, e.errno(), request.type() + ": " + e.getMessage());
        } catch (IllegalArgumentException | IllegalStateException e) {
            AgentProtocol.sendError(connection, 0, request.type() + ": " + e.getMessage());
        } finally {
            Libc.closeQuietly(fd);
        }
    }

    private void restoreAndRelease(int connection, byte[] body) throws IOException {
        if (refusedWithoutPlane(connection, Type.RESTORE_RELEASE)) return;
        FlowTuple flow = flowOf(Type.RESTORE_RELEASE, body, "a TCP state");
        TcpState state = TcpStateCodec.decode(body, FlowTuple.SIZE, body.length - FlowTuple.SIZE);
        FlowTuple restoring = new FlowTuple(state.remote(), state.local());
        if (!restoring.equals(flow)) {
            // The held segments would go to a flow with no socket here: refused before anything changes.
            throw new IllegalArgumentException("the state is of " + restoring + ", the hold to release of " + flow);
        }
        int restored = SocketRepair.LOCAL.restoreAndRelease(state, plane, flow);
        try {
            AgentProtocol.send(connection, Type.RESTORED, new byte[0], restored);
        } finally {
            Libc.closeQuietly(restored);
        }
    }

    /**
     * A migration's source: forwarding, drain and capture in one exchange. A failed step, and a body this agent won't
     * act on (the frame itself was whole, so the stream stays in step), is answered DEPART_FAILED.
     */
    private void depart(int connection, Frame request, boolean realtime) throws IOException {
        if (refusedWithoutPlane(connection, Type.DEPART)) return;
        int fd = request.fd();
        SocketRepair.Departure departure;
        try {
            AgentProtocol.Depart d = AgentProtocol.decodeDepart(request.body());
            departure = SocketRepair.LOCAL.depart(fd, plane, d.flow(), d.target(), d.segmentsAtCount(), d.quietNanos(),
                    d.maxNanos(), realtime);
        } catch (AgentProtocolException | IllegalArgumentException e) {
            AgentProtocol.sendDepartFailed(connection, DepartureException.Step.FORWARD, 0, e.getMessage());
            return;
        } catch (DepartureException e) {
            int errno = e.getCause() instanceof NativeException n ? n.errno() : 0;
            AgentProtocol.sendDepartFailed(connection, e.step(), errno, e.getMessage());
            return;
        }
        try {
            // Encoded into the frame itself: the state carries both queues, megabytes in a bulk stream's move.
            ByteBuffer departed = AgentProtocol.frame(Type.DEPARTED, 8 + TcpStateCodec.encodedLength(departure.state()))
                    .putLong(departure.drainNanos());
            TcpStateCodec.encode(departure.state(), departed);
            AgentProtocol.send(connection, Type.DEPARTED, departed, -1);
        } catch (NativeException | RuntimeException e) {
            // The state can't reach the application: the connection goes on where it is, not silent in repair mode.
            String stuck = "";
            try {
                TcpRepair.resume(fd);
            } catch (NativeException r) {
                stuck = "; the socket stays in repair mode: " + r.getMessage();
            }
            if (e instanceof NativeException) throw e; // the client is gone: nobody to answer
            AgentProtocol.sendDepartFailed(connection, DepartureException.Step.CAPTURE, 0,
                    "the state can't be sent: " + e.getMessage() + stuck);
        }
    }

    private static void requireEmpty(Frame request) throws AgentProtocolException {
        if (request.body().length != 0) {
            throw new AgentProtocolException(request.type() + " carries only its socket, not a body of " + request.body().length + " bytes");
        }
    }

    private boolean refusedWithoutPlane(int connection, Type request) throws NativeException {
        if (plane != null) return false;
        AgentProtocol.sendError(connection, 0, "this agent runs no hold plane: " + request + " refused");
        return true;
    }

    /**
     * The flow a request's body begins with. {@code then}: what follows it (its decoder checks that to the last
     * byte), or null if the flow is the whole body.
     */
    private static FlowTuple flowOf(Type request, byte[] body, String then) throws AgentProtocolException {
        if (then != null ? body.length <= FlowTuple.SIZE : body.length != FlowTuple.SIZE) {
            throw new AgentProtocolException(request + " body of " + body.length + " bytes: a flow of " + FlowTuple.SIZE
                    + " bytes" + (then != null ? " and " + then : "") + " expected");
        }
        return FlowTuple.decode(Arrays.copyOf(body, FlowTuple.SIZE));
    }

    private void flow(int connection, Frame request) throws IOException {
        if (refusedWithoutPlane(connection, request.type())) return;
        byte[] body = request.body();
        boolean addressed = request.type() == Type.FORWARD || request.type() == Type.HAND_BACK;
        FlowTuple flow = flowOf(request.type(), body, addressed ? "an address" : null);
        long result = switch (request.type()) {
            case HOLD -> plane.hold(flow);
            case COUNT -> plane.count(flow) ? 1 : 0;
            case RELEASE -> plane.release(flow);
            case DISCARD -> plane.discard(flow);
            case STOP_FORWARDING -> plane.stopForwarding(flow);
            case FORWARD -> plane.forward(flow, AgentProtocol.target(Type.FORWARD, body, 0));
            case HAND_BACK -> plane.handBack(flow, AgentProtocol.target(Type.HAND_BACK, body, 0));
            default -> throw new AgentProtocolException(request.type() + " is no flow request");
        };
        AgentProtocol.send(connection, Type.DONE, ByteBuffer.allocate(8).putLong(result).array(), -1);
    }

    /** Stops accepting, hangs up on every client and removes the socket file. */
    @Override
    public void close() throws IOException {
        running = false;
        for (int c : connections) {
            try {
                Libc.shutdown(c, Libc.SHUT_RDWR);
            } catch (NativeException ignored) {
                // closed by its handler meanwhile
            }
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Libc.closeQuietly(listener);
        // Only this agent's socket file: another agent may have replaced it meanwhile (a restart overlapping this close).
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && socketFile.equals(Files.getAttribute(path, "unix:ino", LinkOption.NOFOLLOW_LINKS))) {
            Files.deleteIfExists(path);
        }
    }
}
