package io.socketlauncher.repair;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The wire format of a {@link TcpState}: big-endian, versioned, every length bounded.
 *
 * <pre>
 * header  magic "SLTS" u32 | version u16 (=1) | flags u16 (=0) | body length u32
 * body    local address | remote address          (family u8 4|6, 4 or 16 address bytes, port u16)
 *         state u8 (kernel number) | send seq u32 | receive seq u32
 *         options: flags u8 (1 sack, 2 timestamps, 4 window scaling) | send wscale u8 | receive wscale u8
 *                  | mss clamp u16 | mss u16 | timestamp clock u32 | clock read at (epoch ms) u64
 *         window: snd_wl1 u32 | snd_wnd u32 | max_window u32 | rcv_wnd u32 | rcv_wup u32
 *         settings: flags u8 (1 nodelay, 2 keepalive) | keepidle u32 | keepintvl u32 | keepcnt u32
 *                  | sndbuf u32 | rcvbuf u32 | user timeout u32 | notsent lowat u32 | mark u32
 *                  | congestion name length u8 (1..15) + ASCII
 *         send queue length u32 | unsent length u32 | bytes | receive queue length u32 | bytes
 * </pre>
 *
 * Decoding checks every declared length against the bytes actually present before allocating, so a
 * hostile length costs nothing; any trailing byte is an error too.
 */
public final class TcpStateCodec {
    public static final int MAGIC = 0x534C5453; // "SLTS"
    public static final int VERSION = 1;
    public static final int HEADER_LENGTH = 12;
    /** No socket buffer gets near this; a larger queue is a corrupt or hostile input. */
    public static final int MAX_QUEUE_LENGTH = 256 << 20;

    private static final int OPT_SACK = 1, OPT_TIMESTAMPS = 2, OPT_WSCALE = 4;
    private static final int SET_NODELAY = 1, SET_KEEPALIVE = 2;
    private static final int FIXED_BODY = 1 + 4 + 4 + (1 + 1 + 1 + 2 + 2 + 4 + 8) + 5 * 4 + (1 + 8 * 4 + 1) + 4 + 4 + 4;

    private TcpStateCodec() {}

    public static int encodedLength(TcpState s) {
        return HEADER_LENGTH + bodyLength(s);
    }

    private static int bodyLength(TcpState s) {
        return addressLength(s.local()) + addressLength(s.remote()) + FIXED_BODY
                + s.settings().congestionControl().length() + s.sendQueue().length + s.receiveQueue().length;
    }

    private static int addressLength(InetSocketAddress a) {
        return 1 + (a.getAddress() instanceof Inet4Address ? 4 : 16) + 2;
    }

    public static byte[] encode(TcpState state) {
        byte[] out = new byte[encodedLength(state)];
        encode(state, ByteBuffer.wrap(out));
        return out;
    }

    /**
     * Writes into {@code out} from its position (which advances); for callers that reuse one buffer. The
     * buffer's byte order is left as it was.
     */
    public static void encode(TcpState s, ByteBuffer out) {
        if (out.remaining() < encodedLength(s)) throw new BufferOverflowException();
        ByteBuffer b = out.slice().order(ByteOrder.BIG_ENDIAN);
        b.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(bodyLength(s));
        putAddress(b, s.local());
        putAddress(b, s.remote());
        b.put((byte) s.state().kernelValue()).putInt(s.sendSeq()).putInt(s.receiveSeq());
        TcpOptions o = s.options();
        b.put((byte) ((o.sack() ? OPT_SACK : 0) | (o.timestamps() ? OPT_TIMESTAMPS : 0) | (o.windowScaling() ? OPT_WSCALE : 0)));
        b.put((byte) o.sendWindowScale()).put((byte) o.receiveWindowScale());
        b.putShort((short) o.mssClamp()).putShort((short) o.mss()).putInt(o.timestampClock()).putLong(o.clockReadAtMillis());
        RepairWindow w = s.window();
        b.putInt(w.sndWl1()).putInt(w.sndWnd()).putInt(w.maxWindow()).putInt(w.rcvWnd()).putInt(w.rcvWup());
        SocketSettings t = s.settings();
        b.put((byte) ((t.noDelay() ? SET_NODELAY : 0) | (t.keepAlive() ? SET_KEEPALIVE : 0)));
        b.putInt(t.keepIdleSeconds()).putInt(t.keepIntervalSeconds()).putInt(t.keepCount());
        b.putInt(t.sendBuffer()).putInt(t.receiveBuffer()).putInt(t.userTimeoutMillis())
                .putInt(t.notSentLowWatermark()).putInt(t.mark());
        String cc = t.congestionControl();
        b.put((byte) cc.length());
        for (int i = 0; i < cc.length(); i++) b.put((byte) cc.charAt(i));
        b.putInt(s.sendQueue().length).putInt(s.unsentLength()).put(s.sendQueue());
        b.putInt(s.receiveQueue().length).put(s.receiveQueue());
        out.position(out.position() + b.position());
    }

    private static void putAddress(ByteBuffer b, InetSocketAddress a) {
        byte[] raw = a.getAddress().getAddress();
        b.put((byte) (raw.length == 4 ? 4 : 6)).put(raw).putShort((short) a.getPort());
    }

    public static TcpState decode(byte[] input) throws MalformedStateException {
        return decode(input, 0, input.length);
    }

    public static TcpState decode(byte[] input, int offset, int length) throws MalformedStateException {
        return new Reader(input, offset, length).state();
    }

    /** Reads one field at a time, naming it in any error. */
    private static final class Reader {
        private final byte[] in;
        private final int start;
        private final int end;
        private int pos;

        Reader(byte[] in, int offset, int length) {
            if (offset < 0 || length < 0 || offset > in.length - length) {
                throw new IndexOutOfBoundsException("range " + offset + "+" + length + " outside " + in.length + " bytes");
            }
            this.in = in;
            this.start = offset;
            this.end = offset + length;
            this.pos = offset;
        }

        TcpState state() throws MalformedStateException {
            int magic = u32("magic");
            if (magic != MAGIC) throw error(String.format("bad magic 0x%08x, expected 0x%08x (\"SLTS\")", magic, MAGIC), -4);
            int version = u16("version");
            if (version != VERSION) throw error("unsupported version " + version + ", this build reads version " + VERSION, -2);
            int flags = u16("header flags");
            if (flags != 0) throw error("unknown header flags 0x" + Integer.toHexString(flags), -2);
            long body = Integer.toUnsignedLong(u32("body length"));
            if (body != end - pos) {
                throw error("body length field says " + body + " bytes but " + (end - pos) + " follow the header", -4);
            }
            InetSocketAddress local = address("local address");
            InetSocketAddress remote = address("remote address");
            if (local.getAddress().getClass() != remote.getAddress().getClass()) {
                throw error("local and remote address families differ", 0);
            }
            int rawState = u8("state");
            TcpConnectionState state = TcpConnectionState.ofKernel(rawState);
            if (state == null) throw error("TCP state " + rawState + " can't be restored", -1);
            int sendSeq = u32("send sequence");
            int receiveSeq = u32("receive sequence");

            int opt = u8("option flags");
            if ((opt & ~(OPT_SACK | OPT_TIMESTAMPS | OPT_WSCALE)) != 0) throw error("unknown option flags 0x" + Integer.toHexString(opt), -1);
            int sndWscale = u8("send window scale");
            if (sndWscale > 14) throw error("send window scale " + sndWscale + " above 14", -1);
            int rcvWscale = u8("receive window scale");
            if (rcvWscale > 14) throw error("receive window scale " + rcvWscale + " above 14", -1);
            int mssClamp = u16("mss clamp");
            int mss = u16("mss");
            int tsClock = u32("timestamp clock");
            long readAt = ((long) u32("clock read time") << 32) | Integer.toUnsignedLong(u32("clock read time"));
            TcpOptions options = new TcpOptions(mssClamp, mss, (opt & OPT_SACK) != 0, (opt & OPT_TIMESTAMPS) != 0,
                    (opt & OPT_WSCALE) != 0, sndWscale, rcvWscale, tsClock, readAt);
            RepairWindow window = new RepairWindow(u32("snd_wl1"), u32("snd_wnd"), u32("max_window"), u32("rcv_wnd"), u32("rcv_wup"));

            int set = u8("settings flags");
            if ((set & ~(SET_NODELAY | SET_KEEPALIVE)) != 0) throw error("unknown settings flags 0x" + Integer.toHexString(set), -1);
            int keepIdle = nonNegative("keepalive idle");
            int keepIntvl = nonNegative("keepalive interval");
            int keepCnt = nonNegative("keepalive count");
            int sndbuf = nonNegative("send buffer");
            int rcvbuf = nonNegative("receive buffer");
            int userTimeout = nonNegative("user timeout");
            int lowat = u32("notsent lowat");
            int mark = u32("mark");
            int ccLength = u8("congestion control name length");
            if (ccLength == 0 || ccLength > SocketSettings.CONGESTION_NAME_MAX) {
                throw error("congestion control name length " + ccLength + " outside 1.." + SocketSettings.CONGESTION_NAME_MAX, -1);
            }
            need(ccLength, "congestion control name");
            for (int i = 0; i < ccLength; i++) {
                int c = in[pos + i] & 0xff;
                if (c <= 0x20 || c >= 0x7f) throw error("congestion control name has non-printable byte 0x" + Integer.toHexString(c), i);
            }
            String cc = new String(in, pos, ccLength, StandardCharsets.US_ASCII);
            pos += ccLength;
            SocketSettings settings = new SocketSettings((set & SET_NODELAY) != 0, (set & SET_KEEPALIVE) != 0, keepIdle,
                    keepIntvl, keepCnt, cc, sndbuf, rcvbuf, userTimeout, lowat, mark);

            int sendLength = queueLength("send queue length");
            int unsent = u32("unsent length");
            if (Integer.compareUnsigned(unsent, sendLength) > 0) {
                throw error("unsent length " + Integer.toUnsignedString(unsent) + " exceeds send queue length " + sendLength, -4);
            }
            byte[] sendQueue = bytes(sendLength, "send queue");
            int receiveLength = queueLength("receive queue length");
            byte[] receiveQueue = bytes(receiveLength, "receive queue");
            if (pos != end) throw error((end - pos) + " unexpected bytes after the receive queue", 0);
            return new TcpState(local, remote, state, sendSeq, receiveSeq, sendQueue, unsent, receiveQueue, options, window, settings);
        }

        private InetSocketAddress address(String field) throws MalformedStateException {
            int family = u8(field + " family");
            int length = switch (family) {
                case 4 -> 4;
                case 6 -> 16;
                default -> throw error(field + " family " + family + ", expected 4 or 6", -1);
            };
            need(length, field);
            byte[] raw = new byte[length];
            System.arraycopy(in, pos, raw, 0, length);
            pos += length;
            int port = u16(field + " port");
            try {
                return new InetSocketAddress(InetAddress.getByAddress(raw), port);
            } catch (UnknownHostException e) {
                throw new AssertionError("raw address of fixed length rejected", e);
            }
        }

        private int queueLength(String field) throws MalformedStateException {
            int length = u32(field);
            if (length < 0 || length > MAX_QUEUE_LENGTH) {
                throw error(field + " " + Integer.toUnsignedString(length) + " above the limit of " + MAX_QUEUE_LENGTH, -4);
            }
            return length;
        }

        private byte[] bytes(int length, String field) throws MalformedStateException {
            need(length, field);
            byte[] out = new byte[length];
            System.arraycopy(in, pos, out, 0, length);
            pos += length;
            return out;
        }

        private int nonNegative(String field) throws MalformedStateException {
            int v = u32(field);
            if (v < 0) throw error(field + " " + Integer.toUnsignedString(v) + " out of range", -4);
            return v;
        }

        private void need(int n, String field) throws MalformedStateException {
            if (end - pos < n) {
                throw error("truncated: " + field + " needs " + n + " bytes, only " + (end - pos) + " left", 0);
            }
        }

        private int u8(String field) throws MalformedStateException {
            need(1, field);
            return in[pos++] & 0xff;
        }

        private int u16(String field) throws MalformedStateException {
            need(2, field);
            int v = ((in[pos] & 0xff) << 8) | (in[pos + 1] & 0xff);
            pos += 2;
            return v;
        }

        private int u32(String field) throws MalformedStateException {
            need(4, field);
            int v = ((in[pos] & 0xff) << 24) | ((in[pos + 1] & 0xff) << 16) | ((in[pos + 2] & 0xff) << 8) | (in[pos + 3] & 0xff);
            pos += 4;
            return v;
        }

        private MalformedStateException error(String message, int relative) {
            return new MalformedStateException(message, pos + relative - start);
        }
    }
}
