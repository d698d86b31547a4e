package io.socketlauncher.repair;

import static io.socketlauncher.sys.Libc.SOL_SOCKET;
import static io.socketlauncher.sys.Libc.SOL_TCP;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.SocketCalls;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * Dumps an established (or half-closed) TCP socket with TCP_REPAIR and recreates it, possibly in
 * another network namespace or on another host, so the connection carries on from the same bytes.
 *
 * <p>The order of operations follows what the kernel demands (and CRIU's libsoccr does): queue sequence
 * numbers and TCP_MAXSEG before {@code connect}, negotiated options and the timestamp clock after it,
 * then the queues, then TCP_REPAIR_WINDOW (it checks against the restored queues), then the FINs of a
 * half-closed connection. Per-thread scratch arrays keep the hot path free of allocation apart from the
 * queue contents themselves.
 */
public final class TcpRepair {
    private static final int TCPI_OPT_TIMESTAMPS = 1, TCPI_OPT_SACK = 2, TCPI_OPT_WSCALE = 4;
    private static final int TCP_INFO_PREFIX = 24; // state .. tcpi_rcv_mss: all this class reads
    private static final int REPAIR_WINDOW_LENGTH = 20;
    private static final int TH_FIN = 0x01, TH_ACK = 0x10;
    /** A wall clock that disagrees this much is not to be trusted to move the timestamp clock. */
    private static final long MAX_CLOCK_ADVANCE_MILLIS = 60_000;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private TcpRepair() {}

    private static final class Scratch {
        final byte[] info = new byte[TCP_INFO_PREFIX];
        final byte[] window = new byte[REPAIR_WINDOW_LENGTH];
        final byte[] congestion = new byte[16];
        final byte[] repairOptions = new byte[32];
        final byte[] packet = new byte[60];
        final ByteBuffer infoView = ByteBuffer.wrap(info).order(ByteOrder.nativeOrder());
        final ByteBuffer windowView = ByteBuffer.wrap(window).order(ByteOrder.nativeOrder());
        final ByteBuffer optionsView = ByteBuffer.wrap(repairOptions).order(ByteOrder.nativeOrder());
        byte[] lastCongestionBytes = new byte[0];
        String lastCongestion = "";

        byte[] congestionBytes(String name) {
            if (!name.equals(lastCongestion)) {
                lastCongestionBytes = name.getBytes(StandardCharsets.US_ASCII);
                lastCongestion = name;
            }
            return lastCongestionBytes;
        }

        /** Names repeat (nearly every socket says "cubic"): reuse the String while the bytes match. */
        String congestionName(int length) {
            int n = 0;
            while (n < length && congestion[n] != 0) n++;
            if (!Arrays.equals(congestion, 0, n, lastCongestionBytes, 0, lastCongestionBytes.length)) {
                lastCongestionBytes = Arrays.copyOf(congestion, n);
                lastCongestion = new String(lastCongestionBytes, StandardCharsets.US_ASCII);
            }
            return lastCongestion;
        }
    }

    /**
     * Puts {@code fd} into repair mode and reads its complete state. The socket stays in repair mode:
     * close it to drop it without a FIN or RST (the peer must not reach this host for the flow any
     * more, or it will be answered with a reset), or {@link #resume} it to carry on here. On failure the
     * socket is taken out of repair mode again.
     *
     * <p>The flow's incoming packets must be held away from the socket during the dump: a socket in
     * repair mode still acknowledges data, which would then be lost. Data seen arriving during the dump
     * makes it fail with a {@link DataDuringDumpException}; an acknowledgement that shrank the send queue meanwhile
     * makes it read the state again.
     */
    public static TcpState capture(int fd) throws NativeException {
        Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR, Libc.TCP_REPAIR_ON);
        try {
            for (int attempt = 1; ; attempt++) {
                TcpState state = read(fd);
                if (state != null) return state;
                if (attempt == READ_ATTEMPTS) {
                    throw new IllegalStateException("the send queue shrank during each of " + READ_ATTEMPTS
                            + " dumps: acknowledgements are still reaching the socket");
                }
                REREADS.increment();
            }
        } catch (NativeException | RuntimeException e) {
            try {
                resume(fd);
            } catch (NativeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Leaves repair mode without a window probe: the socket goes on as if nothing happened. */
    public static void resume(int fd) throws NativeException {
        Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR, Libc.TCP_REPAIR_OFF_NO_WP);
    }

    /**
     * A read whose send queue shrank meanwhile is read again: an acknowledgement that was still on its way through
     * the stack freed acknowledged bytes, which loses nothing, but the sequence numbers read before it no longer
     * match the queue. Before this was read again, it rolled back about one move in 60,000-230,000 of the demo. With
     * a stream in full flight (TcpRepairTest), one read in 45 needs a second and one in 8,000 a third: while the socket
     * is in repair mode it sends nothing, so the acknowledgements dwindle within a round trip.
     */
    private static final int READ_ATTEMPTS = 5;
    private static final LongAdder REREADS = new LongAdder();

    /** How many times, in this process, a dump was read again because an acknowledgement arrived during it. */
    public static long rereads() {
        return REREADS.sum();
    }

    /** The socket's state, or null if its send queue shrank while it was read (read again). */
    private static TcpState read(int fd) throws NativeException {
        Scratch s = SCRATCH.get();
        SocketCalls.getsockopt(fd, SOL_TCP, Libc.TCP_INFO, s.info);
        int kernelState = s.info[0] & 0xff;
        TcpConnectionState state = TcpConnectionState.ofKernel(kernelState);
        if (state == null) {
            throw new IllegalStateException("socket in TCP state " + kernelState + " can't be moved "
                    + "(only ESTABLISHED, FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSING)");
        }
        int negotiated = s.info[5] & 0xff;
        int wscales = s.info[6] & 0xff;
        int effectiveMss = s.infoView.getInt(16);

        int outqBefore = Libc.ioctlInt(fd, Libc.SIOCOUTQ);
        int outq = outqBefore;
        int unsent = Libc.ioctlInt(fd, Libc.SIOCOUTQNSD);
        int inq = Libc.ioctlInt(fd, Libc.SIOCINQ);
        if (state.finSent()) {
            // Both ioctls count our FIN as a byte while it is unacknowledged (resp. unsent); it carries no data.
            if (outq > 0) outq--;
            if (unsent > 0) unsent--;
        }

        int mssClamp = Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_MAXSEG); // in repair mode: the clamp, not mss_cache
        boolean timestamps = (negotiated & TCPI_OPT_TIMESTAMPS) != 0;
        int clock = timestamps ? Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_TIMESTAMP) : 0;
        long clockReadAt = timestamps ? System.currentTimeMillis() : 0;
        boolean windowScaling = (negotiated & TCPI_OPT_WSCALE) != 0;
        TcpOptions options = new TcpOptions(mssClamp, effectiveMss, (negotiated & TCPI_OPT_SACK) != 0, timestamps,
                windowScaling, windowScaling ? wscales & 0xf : 0, windowScaling ? wscales >>> 4 : 0, clock, clockReadAt);

        SocketCalls.getsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_WINDOW, s.window);
        ByteBuffer w = s.windowView;
        RepairWindow window = new RepairWindow(w.getInt(0), w.getInt(4), w.getInt(8), w.getInt(12), w.getInt(16));

        Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_QUEUE, Libc.TCP_RECV_QUEUE);
        int rcvNxt = Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_QUEUE_SEQ);
        byte[] receiveQueue = peek(fd, inq);
        if (receiveQueue.length != inq) {
            throw new IllegalStateException("receive queue holds " + receiveQueue.length + " bytes, the ioctl said " + inq);
        }
        Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_QUEUE, Libc.TCP_SEND_QUEUE);
        int writeSeq = Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_QUEUE_SEQ);
        byte[] sendQueue = peek(fd, outq);
        // A socket in repair mode still accepts segments. Data that arrived during the dump would be
        // acknowledged here and missing there: refuse rather than lose it silently.
        int inqAfter = Libc.ioctlInt(fd, Libc.SIOCINQ);
        if (inqAfter != inq) {
            throw new DataDuringDumpException("data arrived during the dump (receive queue " + inq + " -> " + inqAfter
                    + " bytes): the flow's packets must be held away from this socket while it is dumped");
        }
        if (sendQueue.length != outq || Libc.ioctlInt(fd, Libc.SIOCOUTQ) != outqBefore) return null;

        // The queue sequence numbers point past the FINs; TcpState names the first byte of each queue.
        int receiveSeq = rcvNxt - (state.finReceived() ? 1 : 0) - inq;
        int sendSeq = writeSeq - (state.finSent() ? 1 : 0) - outq;

        return new TcpState(Libc.getsockname(fd), Libc.getpeername(fd), state, sendSeq, receiveSeq, sendQueue, unsent,
                receiveQueue, options, window, settings(fd, s));
    }

    /** Copies up to {@code length} bytes of a queue (selected with TCP_REPAIR_QUEUE) without consuming them. */
    private static byte[] peek(int fd, int length) throws NativeException {
        byte[] bytes = new byte[length];
        if (length == 0) return bytes;
        int n = Libc.recv(fd, bytes, 0, length, Libc.MSG_PEEK | Libc.MSG_DONTWAIT);
        return n == length ? bytes : Arrays.copyOf(bytes, n);
    }

    private static SocketSettings settings(int fd, Scratch s) throws NativeException {
        int ccLength = SocketCalls.getsockopt(fd, SOL_TCP, Libc.TCP_CONGESTION, s.congestion);
        // Keepalive timings only matter (and only cost three calls) while keepalive is on.
        boolean keepAlive = Libc.getsockoptInt(fd, SOL_SOCKET, Libc.SO_KEEPALIVE) != 0;
        return new SocketSettings(
                Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_NODELAY) != 0,
                keepAlive,
                keepAlive ? Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_KEEPIDLE) : 0,
                keepAlive ? Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_KEEPINTVL) : 0,
                keepAlive ? Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_KEEPCNT) : 0,
                s.congestionName(ccLength),
                Libc.getsockoptInt(fd, SOL_SOCKET, Libc.SO_SNDBUF),
                Libc.getsockoptInt(fd, SOL_SOCKET, Libc.SO_RCVBUF),
                Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_USER_TIMEOUT),
                Libc.getsockoptInt(fd, SOL_TCP, Libc.TCP_NOTSENT_LOWAT),
                Libc.getsockoptInt(fd, SOL_SOCKET, Libc.SO_MARK));
    }

    /** {@link #restore(TcpState, boolean)} without a window probe. */
    public static int restore(TcpState state) throws NativeException {
        return restore(state, false);
    }

    /**
     * Recreates the connection in the calling thread's network namespace and returns the new socket's
     * fd (blocking mode, close-on-exec). The local address must be usable here (assigned, or the VIP on
     * lo); repair mode lets it share the port with a listener.
     *
     * @param windowProbe send a window probe when leaving repair mode, so the peer learns at once that
     *                    this end is alive (and retransmits what it sent during the move)
     */
    public static int restore(TcpState state, boolean windowProbe) throws NativeException {
        Scratch s = SCRATCH.get();
        boolean v4 = state.local().getAddress() instanceof Inet4Address;
        int fd = Libc.socket(v4 ? Libc.AF_INET : Libc.AF_INET6, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        try {
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR, Libc.TCP_REPAIR_ON);
            SocketSettings settings = state.settings();
            if (settings.mark() != 0) Libc.setsockopt(fd, SOL_SOCKET, Libc.SO_MARK, settings.mark());
            // setsockopt asks for half of what the kernel then reserves; queues must fit with their overhead.
            Libc.setsockopt(fd, SOL_SOCKET, Libc.SO_SNDBUFFORCE, Math.max(settings.sendBuffer() / 2, state.sendQueue().length));
            Libc.setsockopt(fd, SOL_SOCKET, Libc.SO_RCVBUFFORCE, Math.max(settings.receiveBuffer() / 2, state.receiveQueue().length));
            Libc.bind(fd, state.local());
            // Send queue first, so the receive queue stays selected for its data after connect: one call less.
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_QUEUE, Libc.TCP_SEND_QUEUE);
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_QUEUE_SEQ, state.sendSeq());
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_QUEUE, Libc.TCP_RECV_QUEUE);
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_QUEUE_SEQ, state.receiveSeq());
            TcpOptions o = state.options();
            // Without this the socket starts from the default MSS of 536; the kernel subtracts the
            // option space (timestamps) from the clamp itself.
            if (o.mssClamp() > 0) Libc.setsockopt(fd, SOL_TCP, Libc.TCP_MAXSEG, o.mssClamp());
            Libc.connect(fd, state.remote());
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_OPTIONS, repairOptions(o, s));
            if (o.timestamps()) Libc.setsockopt(fd, SOL_TCP, Libc.TCP_TIMESTAMP, advancedClock(o));

            sendAll(fd, state.receiveQueue(), 0, state.receiveQueue().length, "receive");
            if (state.sentLength() > 0) {
                Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_QUEUE, Libc.TCP_SEND_QUEUE);
                sendAll(fd, state.sendQueue(), 0, state.sentLength(), "send");
            }
            restoreWindow(fd, state, s);
            restoreFins(fd, state, s);
            applySettings(fd, settings, s);
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR, windowProbe ? Libc.TCP_REPAIR_OFF : Libc.TCP_REPAIR_OFF_NO_WP);
            if (state.unsentLength() > 0) {
                // Never seen by the peer: an ordinary send, after which our FIN (if any) must follow it.
                sendAll(fd, state.sendQueue(), state.sentLength(), state.unsentLength(), "unsent");
                if (state.state().finSent()) Libc.shutdown(fd, Libc.SHUT_WR);
            }
            return fd;
        } catch (NativeException | RuntimeException e) {
            Libc.closeQuietly(fd);
            throw e;
        }
    }

    /** Options left at their defaults are not set again: each one costs a system call. */
    private static void applySettings(int fd, SocketSettings t, Scratch s) throws NativeException {
        if (t.noDelay()) Libc.setsockopt(fd, SOL_TCP, Libc.TCP_NODELAY, 1);
        if (t.keepAlive()) {
            Libc.setsockopt(fd, SOL_SOCKET, Libc.SO_KEEPALIVE, 1);
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_KEEPIDLE, t.keepIdleSeconds());
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_KEEPINTVL, t.keepIntervalSeconds());
            Libc.setsockopt(fd, SOL_TCP, Libc.TCP_KEEPCNT, t.keepCount());
        }
        if (t.userTimeoutMillis() != 0) Libc.setsockopt(fd, SOL_TCP, Libc.TCP_USER_TIMEOUT, t.userTimeoutMillis());
        if (t.notSentLowWatermark() != 0) Libc.setsockopt(fd, SOL_TCP, Libc.TCP_NOTSENT_LOWAT, t.notSentLowWatermark());
        Libc.setsockopt(fd, SOL_TCP, Libc.TCP_CONGESTION, s.congestionBytes(t.congestionControl()));
    }

    private static byte[] repairOptions(TcpOptions o, Scratch s) {
        ByteBuffer b = s.optionsView.clear();
        if (o.sack()) b.putInt(Libc.TCPOPT_SACK_PERM).putInt(0);
        if (o.windowScaling()) b.putInt(Libc.TCPOPT_WINDOW).putInt(o.sendWindowScale() | (o.receiveWindowScale() << 16));
        if (o.timestamps()) b.putInt(Libc.TCPOPT_TIMESTAMP).putInt(0);
        b.putInt(Libc.TCPOPT_MAXSEG).putInt(o.mssClamp());
        return b.position() == s.repairOptions.length ? s.repairOptions : Arrays.copyOf(s.repairOptions, b.position());
    }

    /**
     * The clock moves on by the wall-clock time the move took, rounded up: a clock a little ahead costs
     * nothing, one behind gets our segments dropped by the peer (PAWS). The value is opaque to the
     * kernel except its lowest bit, which says the clock counts microseconds (tcp_usec_ts): keep it.
     */
    private static int advancedClock(TcpOptions o) {
        int clock = o.timestampClock();
        long elapsed = System.currentTimeMillis() - o.clockReadAtMillis();
        if (elapsed < 0 || elapsed >= MAX_CLOCK_ADVANCE_MILLIS) return clock;
        boolean microseconds = (clock & 1) != 0;
        int advanced = clock + (int) (microseconds ? (elapsed + 1) * 1000 : elapsed + 2);
        return microseconds ? advanced | 1 : advanced & ~1;
    }

    /** Writes a queue in repair mode; the kernel takes large queues a piece at a time. */
    private static void sendAll(int fd, byte[] data, int offset, int length, String queue) throws NativeException {
        int done = 0;
        while (done < length) {
            int n = Libc.send(fd, data, offset + done, length - done, Libc.MSG_DONTWAIT);
            if (n <= 0) {
                throw new IllegalStateException("restoring the " + queue + " queue stalled after " + done + " of "
                        + length + " bytes: the socket buffer is too small");
            }
            done += n;
        }
    }

    private static void restoreWindow(int fd, TcpState state, Scratch s) throws NativeException {
        RepairWindow w = state.window();
        // The kernel refuses an rcv_wup beyond rcv_nxt; the recorded one may count the peer's FIN, which
        // is not back yet. Move it back and widen the window by as much, as libsoccr does.
        int rcvNxt = state.receiveSeq() + state.receiveQueue().length;
        int rcvWup = w.rcvWup();
        int rcvWnd = w.rcvWnd();
        if (rcvWup - rcvNxt > 0) {
            rcvWnd += rcvWup - rcvNxt;
            rcvWup = rcvNxt;
        }
        s.windowView.clear().putInt(w.sndWl1()).putInt(w.sndWnd()).putInt(w.maxWindow()).putInt(rcvWnd).putInt(rcvWup);
        Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_WINDOW, s.window);
    }

    /**
     * A restored socket starts ESTABLISHED. Our FIN comes back through shutdown in repair mode (as
     * already sent when it was sent, so it is not sent twice); the peer's FIN, and the ACK of ours, can
     * only come from the network: we inject them as packets from the peer, as libsoccr does.
     */
    private static void restoreFins(int fd, TcpState state, Scratch s) throws NativeException {
        TcpConnectionState st = state.state();
        boolean finNow = st.finSent() && state.unsentLength() == 0;
        boolean ourFinFirst = st == TcpConnectionState.FIN_WAIT1 || st == TcpConnectionState.FIN_WAIT2
                || st == TcpConnectionState.CLOSING;
        if (finNow && ourFinFirst) shutdownInRepair(fd);
        if (st.finReceived()) {
            injectFromPeer(state, state.receiveSeq() + state.receiveQueue().length, state.sendSeq(), TH_FIN | TH_ACK, s);
        }
        if (finNow && !ourFinFirst) shutdownInRepair(fd);
        if (st.finAcked()) {
            injectFromPeer(state, state.receiveSeq() + state.receiveQueue().length, state.sendSeq() + state.sendQueue().length + 1, TH_ACK, s);
        }
        if (st != TcpConnectionState.ESTABLISHED && state.unsentLength() == 0) {
            awaitState(fd, st, s);
        }
    }

    private static void shutdownInRepair(int fd) throws NativeException {
        Libc.setsockopt(fd, SOL_TCP, Libc.TCP_REPAIR_QUEUE, Libc.TCP_SEND_QUEUE);
        Libc.shutdown(fd, Libc.SHUT_WR);
    }

    /** Loopback delivers an injected packet within the sendto call, but don't rely on it silently. */
    private static void awaitState(int fd, TcpConnectionState expected, Scratch s) throws NativeException {
        for (int attempt = 0; attempt < 1000; attempt++) {
            SocketCalls.getsockopt(fd, SOL_TCP, Libc.TCP_INFO, s.info);
            if ((s.info[0] & 0xff) == expected.kernelValue()) return;
            Thread.onSpinWait();
            if (attempt > 10) sleepMillis(1);
        }
        throw new IllegalStateException("restored socket did not reach " + expected + " (kernel state "
                + (s.info[0] & 0xff) + ")");
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while restoring a socket", e);
        }
    }

    /** A bare TCP segment from the peer to us, sent through a raw socket and looped back into the stack. */
    private static void injectFromPeer(TcpState state, int seq, int ack, int flags, Scratch s) throws NativeException {
        byte[] src = state.remote().getAddress().getAddress();
        byte[] dst = state.local().getAddress().getAddress();
        boolean v4 = src.length == 4;
        int ipHeader = v4 ? 20 : 40;
        byte[] p = s.packet;
        ByteBuffer b = ByteBuffer.wrap(p).order(ByteOrder.BIG_ENDIAN);
        if (v4) {
            // The kernel fills in the IPv4 header checksum of a raw packet.
            b.put((byte) 0x45).put((byte) 0).putShort((short) 40).putShort((short) 0).putShort((short) 0x4000)
                    .put((byte) 64).put((byte) Libc.IPPROTO_TCP).putShort((short) 0).put(src).put(dst);
        } else {
            b.putInt(0x60000000).putShort((short) 20).put((byte) Libc.IPPROTO_TCP).put((byte) 64).put(src).put(dst);
        }
        int window = Math.min(0xffff, state.window().sndWnd() >>> state.options().sendWindowScale());
        b.putShort((short) state.remote().getPort()).putShort((short) state.local().getPort()).putInt(seq).putInt(ack)
                .put((byte) 0x50).put((byte) flags).putShort((short) window).putShort((short) 0).putShort((short) 0);
        b.putShort(ipHeader + 16, (short) tcpChecksum(p, src, dst, ipHeader));
        int raw = Libc.socket(v4 ? Libc.AF_INET : Libc.AF_INET6, SocketCalls.SOCK_RAW | Libc.SOCK_CLOEXEC, SocketCalls.IPPROTO_RAW);
        try {
            SocketCalls.sendTo(raw, p, 0, ipHeader + 20, 0, new InetSocketAddress(state.local().getAddress(), 0));
        } finally {
            Libc.closeQuietly(raw);
        }
    }

    /** RFC 793 checksum of the 20-byte TCP header at {@code offset}, over the IPv4 or IPv6 pseudo-header. */
    private static int tcpChecksum(byte[] p, byte[] src, byte[] dst, int offset) {
        long sum = Libc.IPPROTO_TCP + 20;
        for (int i = 0; i < src.length; i += 2) {
            sum += ((src[i] & 0xff) << 8) | (src[i + 1] & 0xff);
            sum += ((dst[i] & 0xff) << 8) | (dst[i + 1] & 0xff);
        }
        for (int i = offset; i < offset + 20; i += 2) sum += ((p[i] & 0xff) << 8) | (p[i + 1] & 0xff);
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (int) (~sum & 0xffff);
    }
}
