package io.socketlauncher.server.agent;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.repair.TcpStateCodec;
import io.socketlauncher.server.agent.AgentProtocol.Type;
import io.socketlauncher.server.hold.DataPlane;
import io.socketlauncher.server.migration.DepartureException;
import io.socketlauncher.server.migration.SocketRepair;
import io.socketlauncher.sys.Libc;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Everything privileged of a migration, done by the server's {@link RepairAgent} (started with a hold plane) for an
 * application without capabilities: TCP_REPAIR capture, resume and restore, and the hold plane's holds, releases
 * and forwarding. Connections to the agent are kept open and pooled, one per concurrent request.
 */
public final class AgentPrivileges implements SocketRepair, DataPlane, AutoCloseable {
    private final Path socket;
    private final ConcurrentLinkedQueue<RepairAgentClient> idle = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    private AgentPrivileges(Path socket) {
        this.socket = socket;
    }

    /** Connects once now, so that a wrong path or missing permission fails at startup, not at the first migration. */
    public static AgentPrivileges connect(Path socket) throws IOException {
        AgentPrivileges p = new AgentPrivileges(socket);
        p.idle.add(RepairAgentClient.connect(socket));
        return p;
    }

    @FunctionalInterface
    private interface Call<T> {
        T on(RepairAgentClient client) throws IOException;
    }

    /** A client whose exchange failed is dropped: its stream may be out of step. */
    private <T> T call(Call<T> call) throws IOException {
        if (closed) throw new IOException("the link to the repair agent at " + socket + " is closed");
        RepairAgentClient c = idle.poll();
        if (c == null) c = RepairAgentClient.connect(socket);
        try {
            T result = call.on(c);
            giveBack(c);
            return result;
        } catch (AgentProtocol.AgentErrorException | DepartureException e) {
            // A clean answer: the stream is in step.
            giveBack(c);
            throw e;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    @Override
    public TcpState capture(int fd) throws IOException {
        byte[] state = call(c -> c.dump(fd));
        return TcpStateCodec.decode(state);
    }

    @Override
    public void resume(int fd) throws IOException {
        call(c -> {
            c.resume(fd);
            return null;
        });
    }

    @Override
    public int restoreForRelease(TcpState state) throws IOException {
        byte[] encoded = TcpStateCodec.encode(state);
        return call(c -> c.restoreHeld(encoded));
    }

    @Override
    public int restoreAndRelease(TcpState state, DataPlane plane, FlowTuple flow) throws IOException {
        if (plane != this) return SocketRepair.super.restoreAndRelease(state, plane, flow);
        return call(c -> c.restoreAndRelease(flow, state));
    }

    @Override
    public Departure depart(int fd, DataPlane plane, FlowTuple flow, InetAddress target, long segmentsAtCount,
                            long quietNanos, long maxNanos, boolean realtime) throws DepartureException {
        if (plane != this) return SocketRepair.super.depart(fd, plane, flow, target, segmentsAtCount, quietNanos, maxNanos, realtime);
        byte[] body = AgentProtocol.depart(new AgentProtocol.Depart(flow, target, segmentsAtCount, quietNanos, maxNanos));
        RepairAgentClient.Departed departed;
        try {
            departed = call(c -> c.depart(fd, body));
        } catch (DepartureException e) {
            throw e;
        } catch (AgentProtocol.AgentErrorException e) {
            throw new DepartureException(DepartureException.Step.FORWARD, e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            // The exchange broke: any step may have been done, the capture too. Out of repair mode, whatever it was.
            throw new DepartureException(DepartureException.Step.CAPTURE, "repair agent: " + e.getMessage(), resumed(fd, e));
        }
        try {
            byte[] reply = departed.body();
            int at = RepairAgentClient.Departed.STATE_OFFSET;
            return new Departure(TcpStateCodec.decode(reply, at, reply.length - at), departed.drainNanos());
        } catch (IOException | RuntimeException e) {
            throw new DepartureException(DepartureException.Step.CAPTURE, "repair agent sent a bad state: " + e.getMessage(),
                    resumed(fd, e));
        }
    }

    /** Takes {@code fd} out of repair mode (harmless if it is not in it); returns {@code cause}, with a failure to do so. */
    private Exception resumed(int fd, Exception cause) {
        try {
            resume(fd);
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
        return cause;
    }

    @Override
    public void silentClose(int fd) {
        try {
            call(c -> c.dump(fd)); // leaves the socket in repair mode: the close below sends nothing
        } catch (IOException | RuntimeException ignored) {
            // closing normally then; the proxy drops this server's segments of a flow that points elsewhere
        }
        Libc.closeQuietly(fd);
    }

    @Override
    public long hold(FlowTuple flow) throws IOException {
        return flowRequest(Type.HOLD, flow.encode());
    }

    @Override
    public int release(FlowTuple flow) throws IOException {
        return (int) flowRequest(Type.RELEASE, flow.encode());
    }

    @Override
    public int discard(FlowTuple flow) throws IOException {
        return (int) flowRequest(Type.DISCARD, flow.encode());
    }

    @Override
    public boolean count(FlowTuple flow) throws IOException {
        return flowRequest(Type.COUNT, flow.encode()) != 0;
    }

    @Override
    public long forward(FlowTuple flow, InetAddress target) throws IOException {
        return flowRequest(Type.FORWARD, AgentProtocol.forward(flow, target));
    }

    @Override
    public int handBack(FlowTuple flow, InetAddress source) throws IOException {
        return (int) flowRequest(Type.HAND_BACK, AgentProtocol.forward(flow, source));
    }

    @Override
    public long stopForwarding(FlowTuple flow) throws IOException {
        return flowRequest(Type.STOP_FORWARDING, flow.encode());
    }

    private long flowRequest(Type type, byte[] body) throws IOException {
        return call(c -> c.flowRequest(type, body));
    }

    /** Pools a client again; one coming back after {@link #close} is closed (either close or this sees it). */
    private void giveBack(RepairAgentClient c) {
        idle.add(c);
        if (closed) closeIdle();
    }

    @Override
    public void close() {
        closed = true;
        closeIdle();
    }

    private void closeIdle() {
        for (RepairAgentClient c; (c = idle.poll()) != null; ) c.close();
    }
}
