package io.socketlauncher.server.agent;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.repair.TcpStateCodec;
import io.socketlauncher.server.agent.AgentProtocol.AgentProtocolException;
import io.socketlauncher.server.agent.AgentProtocol.Frame;
import io.socketlauncher.server.agent.AgentProtocol.Type;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.UnixSockets;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The unprivileged half of the privilege split: an application without CAP_NET_ADMIN moves its TCP
 * connections through a {@link RepairAgent}. One request at a time per client.
 */
public final class RepairAgentClient implements AutoCloseable {
    private final int socket;

    private RepairAgentClient(int socket) {
        this.socket = socket;
    }

    public static RepairAgentClient connect(Path agent) throws IOException {
        int fd = UnixSockets.socket();
        try {
            UnixSockets.connect(fd, agent.toString());
        } catch (IOException | RuntimeException e) {
            Libc.closeQuietly(fd);
            throw e;
        }
        return new RepairAgentClient(fd);
    }

    /**
     * Has the agent put {@code fd} into repair mode and read its state (TcpStateCodec bytes). Close
     * {@code fd} afterwards to drop the connection here silently, or {@link #resume} it.
     */
    public synchronized byte[] dump(int fd) throws IOException {
        AgentProtocol.send(socket, Type.DUMP, new byte[0], fd);
        return expect(Type.DUMPED).body();
    }

    /** Has the agent recreate a dumped connection here; returns the new socket's fd, now this process's. */
    public synchronized int restore(byte[] state) throws IOException {
        AgentProtocol.send(socket, Type.RESTORE, state, -1);
        return expect(Type.RESTORED).fd();
    }

    /** Like {@link #restore}, but the socket leaves repair mode with a window probe and gets room for a burst. */
    public synchronized int restoreHeld(byte[] state) throws IOException {
        AgentProtocol.send(socket, Type.RESTORE_HELD, state, -1);
        return expect(Type.RESTORED).fd();
    }

    /**
     * {@link #restoreHeld}, then the agent's hold plane releases {@code flow} into the new socket, in one exchange: a
     * migration's target. The state is encoded straight into the frame: with both queues it can be megabytes.
     */
    public synchronized int restoreAndRelease(FlowTuple flow, TcpState state) throws IOException {
        ByteBuffer frame = AgentProtocol.frame(Type.RESTORE_RELEASE, FlowTuple.SIZE + TcpStateCodec.encodedLength(state))
                .put(flow.encode());
        TcpStateCodec.encode(state, frame);
        AgentProtocol.send(socket, Type.RESTORE_RELEASE, frame, -1);
        return expect(Type.RESTORED).fd();
    }

    /** A request of the agent's hold plane (HOLD, RELEASE, ...; see {@link AgentProtocol}); returns its DONE value. */
    synchronized long flowRequest(Type type, byte[] body) throws IOException {
        AgentProtocol.send(socket, type, body, -1);
        byte[] done = expect(Type.DONE).body();
        if (done.length != 8) throw new AgentProtocolException("DONE of " + done.length + " bytes, 8 expected");
        return ByteBuffer.wrap(done).getLong();
    }

    /** A DEPARTED reply: how long the agent's forwarding and drain took, and the state (TcpStateCodec bytes from 8 on). */
    record Departed(long drainNanos, byte[] body) {
        static final int STATE_OFFSET = 8;
    }

    /**
     * A migration's source, in one exchange: the agent's hold plane forwards the flow, the agent drains {@code fd} and
     * dumps it ({@link AgentProtocol#depart} body). A failed step comes back as a DepartureException, a request refused
     * before any step as an {@link AgentProtocol.AgentErrorException}.
     */
    synchronized Departed depart(int fd, byte[] body) throws IOException {
        AgentProtocol.send(socket, Type.DEPART, body, fd);
        Frame reply = AgentProtocol.receive(socket);
        if (reply == null) throw new AgentProtocolException("the repair agent hung up before answering");
        if (reply.type() == Type.DEPART_FAILED) throw AgentProtocol.departFailed(reply.body());
        if (reply.type() == Type.ERROR) throw AgentProtocol.error(reply.body()); // refused before any step
        if (reply.type() != Type.DEPARTED) {
            Libc.closeQuietly(reply.fd());
            throw new AgentProtocolException("expected DEPARTED from the repair agent, got " + reply.type());
        }
        byte[] departed = reply.body();
        if (departed.length < Departed.STATE_OFFSET) throw new AgentProtocolException("DEPARTED of " + departed.length + " bytes: too short");
        long drainNanos = ByteBuffer.wrap(departed).getLong();
        if (drainNanos < 0) throw new AgentProtocolException("DEPARTED with a drain of " + drainNanos + " ns");
        return new Departed(drainNanos, departed);
    }

    /** Undoes a {@link #dump}: the connection goes on from this socket. */
    public synchronized void resume(int fd) throws IOException {
        AgentProtocol.send(socket, Type.RESUME, new byte[0], fd);
        expect(Type.RESUMED);
    }

    private Frame expect(Type type) throws IOException {
        Frame reply = AgentProtocol.receive(socket);
        if (reply == null) throw new AgentProtocolException("the repair agent hung up before answering");
        if (reply.type() == Type.ERROR) throw AgentProtocol.error(reply.body());
        if (reply.type() != type) {
            Libc.closeQuietly(reply.fd());
            throw new AgentProtocolException("expected " + type + " from the repair agent, got " + reply.type());
        }
        return reply;
    }

    @Override
    public void close() {
        Libc.closeQuietly(socket);
    }
}
