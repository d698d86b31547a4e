package io.socketlauncher.server.agent;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.server.migration.DepartureException;
import io.socketlauncher.server.migration.MigrationTimeouts;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.UnixSockets;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The repair agent's protocol over a unix stream socket. Every message is one frame: a 12-byte header
 * (magic "SLRA", version, type, flags 0, body length; big-endian) and the body. A frame that carries a
 * socket has it attached (SCM_RIGHTS) to its first bytes. Each request gets one reply, in order.
 *
 * <pre>
 * DUMP     (socket)  -> DUMPED   (TCP state, TcpStateCodec)   the socket stays in repair mode: close it
 * RESTORE  (state)   -> RESTORED (socket)                     a new socket, out of repair mode
 * RESUME   (socket)  -> RESUMED                               undoes a DUMP (repair mode off)
 * RESTORE_HELD (state) -> RESTORED (socket)                   window probe, room for a burst (a source taking a connection back)
 * RESTORE_RELEASE (flow, state) -> RESTORED (socket)          a migration's target: RESTORE_HELD, then RELEASE of the flow
 * HOLD / RELEASE / DISCARD / COUNT / STOP_FORWARDING (flow: 40-byte hold_flow_key)
 * FORWARD  (flow, family u8 4|6, address 4|16 bytes)
 *                   -> DONE     (i64: packets released, discarded or forwarded, segments counted; 1|0 for COUNT;
 *                                for HOLD the packets the forwarding it replaced had sent on, or -1 if refused)
 * DEPART   (socket; flow, family, address as FORWARD, i64 tcpi_segs_in at COUNT or -1, i64 drain quiet ns, i64 drain max ns)
 *                   -> DEPARTED (i64 ns of forwarding and drain, TCP state)   a migration's source: FORWARD, drain, DUMP
 *                   |  DEPART_FAILED (u8 step 0 forward|1 drain|2 capture, u32 errno or 0, UTF-8 message)
 *                                                              the socket out of repair mode; a body refused: step 0
 * any               -> ERROR    (u32 errno or 0, UTF-8 message)
 * </pre>
 * The flow requests drive the agent's hold plane (io.socketlauncher.server.hold.HoldPlane): the TC program, its
 * maps and the TUN device need privileges the application lacks.
 */
public final class AgentProtocol {
    public static final int MAGIC = 0x534C5241; // "SLRA"
    /** 5 since HAND_BACK; 4 since HOLD answers the count of the forwarding it replaced, or -1 (1 or 0 before). */
    public static final int VERSION = 5;
    public static final int HEADER_LENGTH = 12;
    /** Large enough for a socket with full queues at generous buffer sizes; a bigger length is garbage. */
    public static final int MAX_BODY = 64 << 20;
    static final int MAX_ERROR_MESSAGE = 1024;
    private static final int READ_CHUNK = 256 * 1024;
    /** The longest drain a DEPART may ask for, as long as a server may be configured to wait. */
    static final long MAX_DRAIN_NANOS = MigrationTimeouts.MAX_DRAIN.toNanos();

    public enum Type {
        DUMP(1, true), DUMPED(2, false), RESTORE(3, false), RESTORED(4, true), RESUME(5, true), RESUMED(6, false),
        RESTORE_HELD(7, false), HOLD(8, false), RELEASE(10, false), DISCARD(11, false),
        FORWARD(12, false), STOP_FORWARDING(13, false), DONE(14, false), COUNT(15, false), RESTORE_RELEASE(16, false),
        DEPART(17, true), DEPARTED(18, false), DEPART_FAILED(19, false), HAND_BACK(20, false), ERROR(127, false);

        final int code;
        /** Whether a frame of this type must carry a socket. */
        final boolean carriesSocket;

        Type(int code, boolean carriesSocket) {
            this.code = code;
            this.carriesSocket = carriesSocket;
        }

        static Type of(int code) throws AgentProtocolException {
            for (Type t : values()) if (t.code == code) return t;
            throw new AgentProtocolException("unknown frame type " + code);
        }
    }

    /** A frame as received; {@code fd} is -1 unless the type carries a socket, and then the receiver owns it. */
    public record Frame(Type type, byte[] body, int fd) {
    }

    /** Malformed input from the other side. */
    public static final class AgentProtocolException extends IOException {
        public AgentProtocolException(String message) {
            super(message);
        }
    }

    /** The other side reported a failure. */
    public static final class AgentErrorException extends IOException {
        private final int errno;

        AgentErrorException(int errno, String message) {
            super("repair agent: " + message);
            this.errno = errno;
        }

        /** The errno of the agent's failed call, or 0 if it was not a system call. */
        public int errno() {
            return errno;
        }
    }

    /** A DEPART's body, decoded and checked. */
    record Depart(FlowTuple flow, InetAddress target, long segmentsAtCount, long quietNanos, long maxNanos) {
    }

    /** FORWARD's and HAND_BACK's body: the flow and the address its packets go on to. */
    static byte[] forward(FlowTuple flow, InetAddress target) {
        byte[] address = target.getAddress();
        return ByteBuffer.allocate(FlowTuple.SIZE + 1 + address.length).put(flow.encode())
                .put((byte) (target instanceof Inet4Address ? 4 : 6)).put(address).array();
    }

    static byte[] depart(Depart d) {
        byte[] forward = forward(d.flow(), d.target());
        return ByteBuffer.allocate(forward.length + 24).put(forward).putLong(d.segmentsAtCount()).putLong(d.quietNanos())
                .putLong(d.maxNanos()).array();
    }

    /** The target address of a FORWARD or DEPART body whose flow takes the first {@link FlowTuple#SIZE} bytes. */
    static InetAddress target(Type request, byte[] body, int trailing) throws AgentProtocolException {
        if (body.length < FlowTuple.SIZE + 1) {
            throw new AgentProtocolException(request + " body of " + body.length + " bytes, at least " + (FlowTuple.SIZE + 1) + " expected");
        }
        int family = body[FlowTuple.SIZE];
        int length = family == 4 ? 4 : family == 6 ? 16 : -1;
        if (length < 0 || body.length != FlowTuple.SIZE + 1 + length + trailing) {
            throw new AgentProtocolException(request + ": bad address (family " + family + ", " + body.length + " bytes)");
        }
        try {
            return InetAddress.getByAddress(Arrays.copyOfRange(body, FlowTuple.SIZE + 1, FlowTuple.SIZE + 1 + length));
        } catch (UnknownHostException e) {
            throw new AgentProtocolException(request + ": bad address: " + e.getMessage());
        }
    }

    static Depart decodeDepart(byte[] body) throws AgentProtocolException {
        InetAddress target = target(Type.DEPART, body, 24);
        FlowTuple flow = FlowTuple.decode(Arrays.copyOf(body, FlowTuple.SIZE));
        ByteBuffer b = ByteBuffer.wrap(body, body.length - 24, 24);
        long segments = b.getLong(), quiet = b.getLong(), max = b.getLong();
        if (segments < -1 || segments > 0xffffffffL) throw new AgentProtocolException("DEPART: segment count " + segments + " is no tcpi_segs_in");
        if (quiet <= 0 || quiet > MAX_DRAIN_NANOS || max <= 0 || max > MAX_DRAIN_NANOS) {
            throw new AgentProtocolException("DEPART: drain bounds " + quiet + " / " + max + " ns outside 1.." + MAX_DRAIN_NANOS);
        }
        return new Depart(flow, target, segments, quiet, max);
    }

    static void sendDepartFailed(int socket, DepartureException.Step step, int errno, String message) throws NativeException {
        byte[] text = (message == null ? "" : message).getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, MAX_ERROR_MESSAGE);
        send(socket, Type.DEPART_FAILED, ByteBuffer.allocate(5 + length).put((byte) step.ordinal()).putInt(errno)
                .put(text, 0, length).array(), -1);
    }

    static DepartureException departFailed(byte[] body) throws AgentProtocolException {
        if (body.length < 5) throw new AgentProtocolException("DEPART_FAILED frame of " + body.length + " bytes: too short");
        if (body.length > 5 + MAX_ERROR_MESSAGE) throw new AgentProtocolException("DEPART_FAILED frame of " + body.length + " bytes: too long");
        DepartureException.Step[] steps = DepartureException.Step.values();
        int step = body[0] & 0xff;
        if (step >= steps.length) throw new AgentProtocolException("DEPART_FAILED: unknown step " + step);
        int errno = ByteBuffer.wrap(body, 1, 4).getInt();
        String message = new String(body, 5, body.length - 5, StandardCharsets.UTF_8);
        return new DepartureException(steps[step], "repair agent: " + message + (errno != 0 ? " (errno " + errno + ")" : ""), null);
    }

    private AgentProtocol() {}

    static void send(int socket, Type type, byte[] body, int passFd) throws NativeException {
        send(socket, type, frame(type, body.length).put(body), passFd);
    }

    /**
     * A frame of {@code type} with its header written and room for a body of {@code bodyLength}, positioned at the
     * body: a large body (a TCP state with both queues) is encoded straight into it rather than copied in.
     */
    static ByteBuffer frame(Type type, int bodyLength) {
        if (bodyLength < 0 || bodyLength > MAX_BODY) {
            throw new IllegalArgumentException(type + " body of " + bodyLength + " bytes: at most " + MAX_BODY);
        }
        return ByteBuffer.allocate(HEADER_LENGTH + bodyLength)
                .putInt(MAGIC).put((byte) VERSION).put((byte) type.code).putShort((short) 0).putInt(bodyLength);
    }

    /** Sends a {@link #frame} of {@code type} whose body has been filled in whole. */
    static void send(int socket, Type type, ByteBuffer frame, int passFd) throws NativeException {
        if (frame.hasRemaining()) throw new IllegalArgumentException(type + " body short by " + frame.remaining() + " bytes");
        if ((frame.get(5) & 0xff) != type.code) throw new IllegalArgumentException("the frame is not of type " + type);
        if (type.carriesSocket != (passFd >= 0)) throw new IllegalArgumentException(type + (type.carriesSocket ? " needs" : " takes no") + " socket");
        byte[] bytes = frame.array();
        int done = UnixSockets.send(socket, bytes, 0, bytes.length, passFd);
        while (done < bytes.length) done += UnixSockets.send(socket, bytes, done, bytes.length - done, -1);
    }

    static void sendError(int socket, int errno, String message) throws NativeException {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, MAX_ERROR_MESSAGE);
        send(socket, Type.ERROR, ByteBuffer.allocate(4 + length).putInt(errno).put(text, 0, length).array(), -1);
    }

    /** Reads one frame; returns null at a clean end of stream (between frames). */
    static Frame receive(int socket) throws IOException {
        int[] fd = {-1};
        try {
            byte[] header = new byte[HEADER_LENGTH];
            int headerGot = fill(socket, header, 0, fd);
            if (headerGot == 0) return null;
            if (headerGot < HEADER_LENGTH) throw new AgentProtocolException("end of stream after " + headerGot + " of a frame header's " + HEADER_LENGTH + " bytes");
            ByteBuffer h = ByteBuffer.wrap(header);
            int magic = h.getInt(), version = h.get() & 0xff, code = h.get() & 0xff, flags = h.getShort() & 0xffff;
            long length = h.getInt() & 0xffffffffL;
            if (magic != MAGIC) throw new AgentProtocolException("bad magic 0x" + Integer.toHexString(magic) + ": not a repair agent frame");
            if (version != VERSION) throw new AgentProtocolException("unsupported protocol version " + version + " (this side speaks " + VERSION + ")");
            Type type = Type.of(code);
            if (flags != 0) throw new AgentProtocolException("nonzero flags 0x" + Integer.toHexString(flags) + " in " + type);
            if (length > MAX_BODY) throw new AgentProtocolException(type + " body of " + length + " bytes exceeds " + MAX_BODY);
            if (type.carriesSocket ? fd[0] < 0 : fd[0] >= 0) {
                throw new AgentProtocolException(type + (type.carriesSocket ? " came without its socket" : " came with a socket it must not carry"));
            }
            // Grown as the bytes arrive: a header alone claims no more memory than one read's worth.
            byte[] body = new byte[(int) Math.min(length, READ_CHUNK)];
            int got = fill(socket, body, 0, fd);
            while (got == body.length && got < length) {
                body = Arrays.copyOf(body, (int) Math.min(length, 2L * got));
                got = fill(socket, body, got, fd);
            }
            if (got < length) throw new AgentProtocolException("end of stream inside a " + type + " body, after " + got + " of " + length + " bytes");
            Frame frame = new Frame(type, body, fd[0]);
            fd[0] = -1;
            return frame;
        } finally {
            Libc.closeQuietly(fd[0]);
        }
    }

    /** Fills {@code into} from {@code from}; returns how far it got: short of {@code into.length} at the end of the stream. */
    private static int fill(int socket, byte[] into, int from, int[] fd) throws IOException {
        int[] received = {-1};
        int done = from;
        while (done < into.length) {
            int n = UnixSockets.receive(socket, into, done, Math.min(into.length - done, READ_CHUNK), received);
            if (received[0] >= 0) {
                if (fd[0] >= 0) {
                    Libc.closeQuietly(received[0]);
                    throw new AgentProtocolException("more than one socket in a frame");
                }
                fd[0] = received[0];
            }
            if (n == 0) return done;
            done += n;
        }
        return done;
    }

    static AgentErrorException error(byte[] body) throws AgentProtocolException {
        if (body.length < 4) throw new AgentProtocolException("ERROR frame of " + body.length + " bytes: too short");
        if (body.length > 4 + MAX_ERROR_MESSAGE) throw new AgentProtocolException("ERROR frame of " + body.length + " bytes: too long");
        ByteBuffer b = ByteBuffer.wrap(body);
        int errno = b.getInt();
        return new AgentErrorException(errno, new String(body, 4, body.length - 4, StandardCharsets.UTF_8));
    }
}
