package io.socketlauncher.proxy.control;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One authenticated connection of the control protocol: framing, the nonce handshake, per-direction session keys,
 * sequence numbers and read deadlines. Request semantics live above it (ControlServer, ControlClient), so the
 * server protocol of live migration can run its own messages over the same channel.
 *
 * <p>Handshake: the client sends AUTH_INIT with a fresh nonce, the server answers AUTH_CHALLENGE with its own;
 * both frames carry sequence 0 and an HMAC under the shared key. Each side then derives a key per direction,
 * HMAC(shared, label || client nonce || server nonce), and every later frame carries an HMAC under its direction's
 * key and a sequence number that starts at 1 and grows by exactly 1. A frame recorded on another connection fails
 * the MAC (other nonces), one replayed on the same connection fails the sequence check, and one reflected back to
 * its sender fails the MAC (other direction's key).
 */
public final class ControlChannel implements Closeable {
    private static final String HMAC = "HmacSHA256";
    private static final byte[] NO_MAC = new byte[Wire.MAC_BYTES];
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Room for a typical frame and the next one behind it; larger payloads are read straight into place. */
    private static final int READ_AHEAD_BYTES = 8192;

    private final Socket socket;
    private final InputStream in;
    /**
     * What one read brought beyond the bytes asked for. A frame is read in three parts (header, payload, MAC), and
     * without it each part was a system call of its own, and a wait for readiness before the first.
     */
    private final byte[] readAhead = new byte[READ_AHEAD_BYTES];
    private int readAheadStart;
    private int readAheadEnd;
    private final OutputStream out;
    private Duration idleTimeout;
    private final Duration frameTimeout;
    private Mac sendMac;
    private Mac receiveMac;
    private long sendSequence = 1;
    private long receiveSequence = 1;
    private boolean authenticated;

    private ControlChannel(Socket socket, Duration idleTimeout, Duration frameTimeout) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.idleTimeout = idleTimeout;
        this.frameTimeout = frameTimeout;
    }

    /**
     * Runs the client side of the handshake over a connected socket. The server's refusal arrives as a
     * {@link ControlException}; a server whose key differs fails with {@link ProtocolException} AUTH_FAILED.
     */
    public static ControlChannel client(Socket socket, byte[] key, Duration timeout) throws IOException {
        Wire.checkKey(key);
        ControlChannel channel = new ControlChannel(socket, timeout, timeout);
        byte[] clientNonce = nonce();
        Mac handshake = mac(key);
        channel.write(MessageType.AUTH_INIT.code(), 0, 0, clientNonce, handshake);
        Raw reply = channel.readRaw(false);
        if (reply.type == MessageType.ERROR.code() && MessageDigest.isEqual(reply.mac, NO_MAC)) {
            // Before the handshake the server cannot authenticate its refusal; it is only ever a reason to stop.
            Messages.Error error = Messages.decodeError(reply.payload);
            throw new ControlException("server refused the handshake: " + error.message()
                    + " (" + describe(error.code()) + ")", error.code());
        }
        if (reply.type != MessageType.AUTH_CHALLENGE.code()) {
            throw new ProtocolException(ErrorCode.UNEXPECTED_TYPE,
                    "expected AUTH_CHALLENGE from the server, got " + MessageType.describe(reply.type));
        }
        if (!reply.verify(handshake)) {
            throw new ProtocolException(ErrorCode.AUTH_FAILED,
                    "the server's AUTH_CHALLENGE does not verify with our key: the keys differ");
        }
        byte[] serverNonce = Messages.decodeNonce("AUTH_CHALLENGE", reply.payload);
        channel.establish(key, clientNonce, serverNonce, true);
        return channel;
    }

    /** A server-side channel whose handshake has not run yet: {@link #acceptHandshake} runs it. */
    public static ControlChannel server(Socket socket, Duration idleTimeout, Duration frameTimeout)
            throws IOException {
        return new ControlChannel(socket, idleTimeout, frameTimeout);
    }

    /** Runs the server side of the handshake; until it returns, every frame but AUTH_INIT is refused. */
    public void acceptHandshake(byte[] key) throws IOException {
        Wire.checkKey(key);
        Raw init = readRaw(false);
        if (init.type != MessageType.AUTH_INIT.code()) {
            throw new ProtocolException(ErrorCode.NOT_AUTHENTICATED, init.requestId,
                    MessageType.describe(init.type) + " before authentication: the first frame must be AUTH_INIT");
        }
        Mac handshake = mac(key);
        if (!init.verify(handshake)) {
            throw new ProtocolException(ErrorCode.AUTH_FAILED, init.requestId,
                    "AUTH_INIT does not verify with the server's key: the keys differ");
        }
        if (init.sequence != 0) {
            throw new ProtocolException(ErrorCode.MALFORMED, init.requestId,
                    "AUTH_INIT carries sequence " + init.sequence + "; handshake frames carry 0");
        }
        byte[] clientNonce = Messages.decodeNonce("AUTH_INIT", init.payload);
        byte[] serverNonce = nonce();
        write(MessageType.AUTH_CHALLENGE.code(), 0, init.requestId, serverNonce, handshake);
        establish(key, clientNonce, serverNonce, false);
    }

    /** How long {@link #receive} waits for the first byte of the next frame. */
    public void idleTimeout(Duration timeout) {
        this.idleTimeout = timeout;
    }

    public boolean authenticated() {
        return authenticated;
    }

    /** Sends one frame under the session key. */
    public synchronized void send(MessageType type, int requestId, byte[] payload) throws IOException {
        if (!authenticated) {
            throw new IllegalStateException("send " + type + " before the handshake");
        }
        write(type.code(), sendSequence++, requestId, payload, sendMac);
    }

    /**
     * Sends an ERROR. Before the handshake there is no session key to authenticate it with, so it goes out with
     * an all-zero MAC; a client accepts such an error only while it waits for AUTH_CHALLENGE.
     */
    public synchronized void sendError(ErrorCode code, int requestId, String message) throws IOException {
        byte[] payload = Messages.error(code.code(), message);
        if (authenticated) {
            write(MessageType.ERROR.code(), sendSequence++, requestId, payload, sendMac);
        } else {
            write(MessageType.ERROR.code(), 0, requestId, payload, null);
        }
    }

    /**
     * Receives the next frame, its MAC and sequence number checked. The clean end of the connection between two
     * frames is an {@link EOFException}; everything else wrong is a {@link ProtocolException}.
     */
    public Frame receive() throws IOException {
        if (!authenticated) {
            throw new IllegalStateException("receive before the handshake");
        }
        return check(readRaw(false));
    }

    /**
     * Like {@link #receive}, but null if no frame began to arrive within the idle timeout; the channel stays
     * usable (nothing of a frame was consumed). For a peer that listens for pushes and must notice silence.
     */
    public Frame poll() throws IOException {
        if (!authenticated) {
            throw new IllegalStateException("receive before the handshake");
        }
        Raw raw = readRaw(true);
        return raw == null ? null : check(raw);
    }

    private Frame check(Raw raw) throws ProtocolException {
        if (!raw.verify(receiveMac)) {
            throw new ProtocolException(ErrorCode.AUTH_FAILED, raw.requestId, "MAC of the "
                    + MessageType.describe(raw.type) + " frame (sequence " + Long.toUnsignedString(raw.sequence)
                    + ") does not verify with the session key");
        }
        if (raw.sequence != receiveSequence) {
            throw new ProtocolException(ErrorCode.REPLAY, raw.requestId, "sequence "
                    + Long.toUnsignedString(raw.sequence) + " replayed or out of order; expected " + receiveSequence);
        }
        receiveSequence++;
        return new Frame(raw.type, raw.sequence, raw.requestId, raw.payload);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    Socket socket() {
        return socket;
    }

    private void establish(byte[] key, byte[] clientNonce, byte[] serverNonce, boolean isClient) {
        Mac clientToServer = mac(sessionKey(key, "SLCP1 client->server", clientNonce, serverNonce));
        Mac serverToClient = mac(sessionKey(key, "SLCP1 server->client", clientNonce, serverNonce));
        sendMac = isClient ? clientToServer : serverToClient;
        receiveMac = isClient ? serverToClient : clientToServer;
        authenticated = true;
    }

    static byte[] sessionKey(byte[] key, String label, byte[] clientNonce, byte[] serverNonce) {
        Mac mac = mac(key);
        mac.update(label.getBytes(StandardCharsets.US_ASCII));
        mac.update(clientNonce);
        return mac.doFinal(serverNonce);
    }

    static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has " + HMAC, e);
        }
    }

    private static byte[] nonce() {
        byte[] nonce = new byte[Wire.NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        return nonce;
    }

    private static String describe(int errorCode) {
        ErrorCode code = ErrorCode.of(errorCode);
        return code != null ? code.name() : "error " + errorCode;
    }

    /** The whole frame in one write: a reader never sees a header without its payload because of us. */
    private void write(int type, long sequence, int requestId, byte[] payload, Mac mac) throws IOException {
        byte[] frame = encode(type, sequence, requestId, payload, mac);
        out.write(frame);
        out.flush();
    }

    /** Encodes a frame; a null mac leaves the MAC field zero. Package-private so tests can forge frames. */
    static byte[] encode(int type, long sequence, int requestId, byte[] payload, Mac mac) {
        if (payload.length > Wire.MAX_PAYLOAD) {
            throw new IllegalArgumentException("payload of " + payload.length + " bytes exceeds " + Wire.MAX_PAYLOAD);
        }
        ByteBuffer frame = ByteBuffer.allocate(Wire.HEADER_BYTES + payload.length + Wire.MAC_BYTES);
        frame.putInt(Wire.MAGIC).put((byte) Wire.VERSION).put((byte) 0).putShort((short) type)
                .putLong(sequence).putInt(requestId).putInt(payload.length).put(payload);
        if (mac != null) {
            mac.update(frame.array(), 0, frame.position());
            frame.put(mac.doFinal());
        }
        return frame.array();
    }

    private record Raw(byte[] header, int type, long sequence, int requestId, byte[] payload, byte[] mac) {
        boolean verify(Mac key) {
            key.update(header);
            key.update(payload);
            return MessageDigest.isEqual(key.doFinal(), mac);
        }
    }

    /**
     * Reads one frame without judging its authenticity. The header is checked before the payload is read, so a
     * bad magic, version or length is refused before anything is allocated for it. The first byte may take the
     * idle timeout to come; the rest of the frame must follow within the frame timeout.
     */
    private Raw readRaw(boolean nullWhenIdle) throws IOException {
        byte[] header = new byte[Wire.HEADER_BYTES];
        int first;
        try {
            first = read(header, 0, header.length, System.nanoTime() + idleTimeout.toNanos());
        } catch (SocketTimeoutException e) {
            if (nullWhenIdle) {
                return null;
            }
            throw new ProtocolException(ErrorCode.TIMEOUT, "no frame within " + idleTimeout.toMillis() + " ms");
        }
        if (first < 0) {
            throw new EOFException("connection closed");
        }
        long deadline = System.nanoTime() + frameTimeout.toNanos();
        fill(header, first, "header", 0, deadline);
        ByteBuffer h = ByteBuffer.wrap(header);
        int magic = h.getInt(0);
        if (magic != Wire.MAGIC) {
            throw new ProtocolException(ErrorCode.BAD_MAGIC,
                    String.format("bad magic 0x%08x; expected 0x%08x (\"SLCP\")", magic, Wire.MAGIC));
        }
        int version = h.get(4) & 0xff;
        if (version != Wire.VERSION) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION,
                    "protocol version " + version + " is not supported; this peer speaks version " + Wire.VERSION);
        }
        int requestId = h.getInt(16);
        int flags = h.get(5) & 0xff;
        if (flags != 0) {
            throw new ProtocolException(ErrorCode.MALFORMED, requestId,
                    String.format("flags 0x%02x set; version %d defines none", flags, Wire.VERSION));
        }
        int type = h.getShort(6) & 0xffff;
        long sequence = h.getLong(8);
        long length = h.getInt(20) & 0xffffffffL;
        if (length > Wire.MAX_PAYLOAD) {
            throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE, requestId,
                    "payload length " + length + " exceeds the limit of " + Wire.MAX_PAYLOAD + " bytes");
        }
        if (!authenticated && length > Wire.MAX_HANDSHAKE_PAYLOAD) {
            throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE, requestId, "payload length " + length + " of "
                    + MessageType.describe(type) + " exceeds the limit of " + Wire.MAX_HANDSHAKE_PAYLOAD
                    + " bytes before authentication");
        }
        byte[] payload = new byte[(int) length];
        fill(payload, 0, "payload", requestId, deadline);
        byte[] mac = new byte[Wire.MAC_BYTES];
        fill(mac, 0, "MAC", requestId, deadline);
        return new Raw(header, type, sequence, requestId, payload, mac);
    }

    private void fill(byte[] b, int from, String part, int requestId, long deadline) throws IOException {
        int have = from;
        while (have < b.length) {
            int n;
            try {
                n = read(b, have, b.length - have, deadline);
            } catch (SocketTimeoutException e) {
                throw new ProtocolException(ErrorCode.TIMEOUT, requestId, "frame incomplete after "
                        + frameTimeout.toMillis() + " ms: " + have + " of " + b.length + " " + part + " bytes");
            }
            if (n < 0) {
                throw new ProtocolException(ErrorCode.TRUNCATED, requestId,
                        "truncated frame: connection ended after " + have + " of " + b.length + " " + part + " bytes");
            }
            have += n;
        }
    }

    private int read(byte[] b, int off, int len, long deadline) throws IOException {
        if (readAheadStart < readAheadEnd) {
            int n = Math.min(len, readAheadEnd - readAheadStart);
            System.arraycopy(readAhead, readAheadStart, b, off, n);
            readAheadStart += n;
            return n;
        }
        long remaining = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (remaining <= 0) {
            throw new SocketTimeoutException();
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, remaining));
        if (len >= readAhead.length) {
            return in.read(b, off, len);
        }
        int got = in.read(readAhead, 0, readAhead.length);
        if (got <= 0) {
            return got;
        }
        int n = Math.min(len, got);
        System.arraycopy(readAhead, 0, b, off, n);
        readAheadStart = n;
        readAheadEnd = got;
        return n;
    }
}
