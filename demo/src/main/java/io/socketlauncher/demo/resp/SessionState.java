package io.socketlauncher.demo.resp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * What a RESP connection carries to the server it moves to, as its application-state blob: the selected
 * database, whether it was switched to the demo's numbered stream and how far both streams had got, and the
 * bytes of requests already read into user space but not yet processed.
 *
 * <p>Format, version 1, big-endian: {@code "SLRS" | version u8 = 1 | mode u8 (0 RESP, 1 stream) | database u8 |
 * stream bytes received u64 | stream bytes sent u64 | pending length u32 | pending bytes}. Decoding checks every
 * field and that the lengths add up to exactly the bytes present, before allocating.
 */
public record SessionState(int database, boolean streaming, long streamReceived, long streamSent, byte[] pending) {
    private static final int MAGIC = 0x534c5253; // "SLRS"
    private static final int VERSION = 1;
    public static final int HEADER = 4 + 1 + 1 + 1 + 8 + 8 + 4;
    /** The library carries at most 1 MiB of application state per connection. */
    public static final int MAX_ENCODED = 1 << 20;
    public static final int MAX_PENDING = MAX_ENCODED - HEADER;

    public static final SessionState FRESH = new SessionState(0, false, 0, 0, new byte[0]);

    /** A blob that is not a session state this version understands; the message names the field and offset. */
    public static final class MalformedSessionStateException extends IOException {
        MalformedSessionStateException(String message) {
            super(message);
        }
    }

    public SessionState {
        if (database < 0 || database >= Keyspace.DATABASES) throw new IllegalArgumentException("database " + database + " out of range");
        if (streamReceived < 0 || streamSent < 0) throw new IllegalArgumentException("negative stream offset");
        if (pending.length > MAX_PENDING) throw new IllegalArgumentException(pending.length + " pending bytes exceed " + MAX_PENDING);
        pending = pending.clone();
    }

    @Override
    public byte[] pending() {
        return pending.clone();
    }

    public byte[] encode() {
        return ByteBuffer.allocate(HEADER + pending.length).putInt(MAGIC).put((byte) VERSION).put((byte) (streaming ? 1 : 0))
                .put((byte) database).putLong(streamReceived).putLong(streamSent).putInt(pending.length).put(pending).array();
    }

    /** The state of a connection that arrived by transfer; an empty blob is a connection accepted here. */
    public static SessionState decode(byte[] blob) throws MalformedSessionStateException {
        if (blob.length == 0) return FRESH;
        if (blob.length > MAX_ENCODED) throw new MalformedSessionStateException("session state of " + blob.length + " bytes exceeds " + MAX_ENCODED);
        if (blob.length < HEADER) throw new MalformedSessionStateException("session state of " + blob.length + " bytes is shorter than its " + HEADER + "-byte header");
        ByteBuffer b = ByteBuffer.wrap(blob);
        int magic = b.getInt();
        if (magic != MAGIC) throw new MalformedSessionStateException(String.format("bad magic 0x%08x at offset 0", magic));
        int version = b.get() & 0xff;
        if (version != VERSION) throw new MalformedSessionStateException("unknown version " + version + " at offset 4");
        int mode = b.get() & 0xff;
        if (mode > 1) throw new MalformedSessionStateException("unknown mode " + mode + " at offset 5");
        int database = b.get() & 0xff;
        if (database >= Keyspace.DATABASES) throw new MalformedSessionStateException("database " + database + " at offset 6 is out of range 0-" + (Keyspace.DATABASES - 1));
        long received = b.getLong();
        if (received < 0) throw new MalformedSessionStateException("negative stream offset " + received + " at offset 7");
        long sent = b.getLong();
        if (sent < 0) throw new MalformedSessionStateException("negative stream offset " + sent + " at offset 15");
        long length = Integer.toUnsignedLong(b.getInt());
        if (length != b.remaining()) {
            throw new MalformedSessionStateException("pending length " + length + " at offset 23 but " + b.remaining() + " bytes follow");
        }
        if (mode == 0 && (received != 0 || sent != 0)) throw new MalformedSessionStateException("stream offsets in a RESP session at offset 7");
        if (mode == 1 && length != 0) throw new MalformedSessionStateException("pending request bytes in a stream session at offset 23");
        return new SessionState(database, mode == 1, received, sent, Arrays.copyOfRange(blob, HEADER, blob.length));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionState s && s.database == database && s.streaming == streaming
                && s.streamReceived == streamReceived && s.streamSent == streamSent && Arrays.equals(s.pending, pending);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(pending) * 31 + database;
    }

    @Override
    public String toString() {
        return "SessionState[db " + database + (streaming ? ", stream at " + streamReceived + "/" + streamSent : "")
                + ", " + pending.length + " pending bytes]";
    }
}
