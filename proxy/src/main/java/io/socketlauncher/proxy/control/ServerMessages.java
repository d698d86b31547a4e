package io.socketlauncher.proxy.control;

import java.net.InetSocketAddress;

/**
 * Payload layouts of the server protocol (live migration between servers; docs/migration.md has the same tables),
 * big-endian like {@link Messages}. Every message names its migration by a 64-bit id the source chose. A transfer
 * (TCP state plus the application's blob) may exceed one frame: it travels as XFER_PART frames and a closing XFER
 * that states the total, so the receiver checks the sum and never allocates more than the bound it set itself.
 */
public final class ServerMessages {
    /** Bytes of transfer data one XFER_PART or XFER frame carries at most (the rest is id and length). */
    public static final int MAX_CHUNK = Wire.MAX_PAYLOAD - 16;
    public static final int MAX_SERVER_ID_BYTES = Wire.MAX_BACKEND_ID_BYTES;

    private ServerMessages() {
    }

    /**
     * XFER_PREPARE: the source asks the target to hold the flow. {@code client} and {@code vip} name the flow at the
     * proxy; {@code sourceLocal} is the address the source's socket is bound to (the target binds its own).
     */
    public record Prepare(long migration, String sourceId, InetSocketAddress client, InetSocketAddress vip,
                          InetSocketAddress sourceLocal) {
    }

    /** XFER_PART and XFER: a piece of the transfer; XFER's {@code total} is the length of the whole. */
    public record Chunk(long migration, long total, byte[] data) {
    }

    /** XFER_ABORT: stop the migration, and what becomes of the target's hold. */
    public record Abort(long migration, Disposition disposition, String reason) {
    }

    /** What a target that has not committed does with its hold of an aborted migration's flow. */
    public enum Disposition {
        /** Keeps holding (the source asks whether the target committed, and decides after). */
        KEEP(0),
        /** Ends the hold and drops what it kept: the flow is back on the source, which gets the client's resends. */
        DISCARD(1),
        /**
         * Sends the flow on to the source from now on, dropping what it kept: the source could not confirm that the
         * proxy points the flow back at it, so it may still point here. Ended by a DISCARD for the same migration
         * once the source has confirmed it, or after {@link #HAND_BACK_LIMIT}. A target that holds nothing for the
         * migration, or can't forward, refuses it (ERROR): then nothing reaches the source if the proxy points there.
         */
        HAND_BACK(2);

        /** Its byte on the wire. */
        public final int code;

        Disposition(int code) {
            this.code = code;
        }

        static Disposition of(int code) {
            for (Disposition d : values()) if (d.code == code) return d;
            return null;
        }

        /** How long a target forwards a handed-back flow at most, and a source keeps trying to point it back. */
        public static final java.time.Duration HAND_BACK_LIMIT = java.time.Duration.ofMinutes(10);
    }

    /** XFER_ABORTED: {@code committed} if it was too late, the connection already lives at the target. */
    public record Aborted(long migration, boolean committed) {
    }

    // XFER_PREPARE: migration u64 | source id (u8 length + UTF-8) | client addr | vip addr | source local addr
    public static byte[] prepare(Prepare p) {
        return new PayloadWriter().i64(p.migration()).backendId(p.sourceId()).address(p.client()).address(p.vip())
                .address(p.sourceLocal()).toByteArray();
    }

    public static Prepare decodePrepare(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("XFER_PREPARE", payload);
        Prepare p = new Prepare(r.i64("migration"), r.backendId("source id"), r.address("client"), r.address("vip"),
                r.address("source local address"));
        r.end();
        return p;
    }

    /** HOLDING: the target holds the flow; {@code targetLocal} is the address its restored socket will have. */
    public record Holding(long migration, InetSocketAddress targetLocal) {
    }

    // HOLDING: migration u64 | target local addr
    public static byte[] holding(Holding h) {
        return new PayloadWriter().i64(h.migration()).address(h.targetLocal()).toByteArray();
    }

    public static Holding decodeHolding(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("HOLDING", payload);
        Holding h = new Holding(r.i64("migration"), r.address("target local address"));
        r.end();
        return h;
    }

    // XFERED: migration u64
    public static byte[] migration(long id) {
        return new PayloadWriter().i64(id).toByteArray();
    }

    public static long decodeMigration(String message, byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader(message, payload);
        long id = r.i64("migration");
        r.end();
        return id;
    }

    // XFER_PART: migration u64 | data (the rest). XFER: migration u64 | total u64 | data (the rest).
    public static byte[] part(long migration, byte[] data, int offset, int length) {
        checkChunk(length);
        return new PayloadWriter().i64(migration).raw(slice(data, offset, length)).toByteArray();
    }

    public static byte[] last(long migration, long total, byte[] data, int offset, int length) {
        checkChunk(length);
        return new PayloadWriter().i64(migration).i64(total).raw(slice(data, offset, length)).toByteArray();
    }

    public static Chunk decodePart(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("XFER_PART", payload);
        long id = r.i64("migration");
        return new Chunk(id, -1, r.bytes(payload.length - 8, "data"));
    }

    public static Chunk decodeLast(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("XFER", payload);
        long id = r.i64("migration");
        long total = r.i64("total");
        if (total < 0) {
            throw r.malformed("total " + Long.toUnsignedString(total) + " out of range");
        }
        return new Chunk(id, total, r.bytes(payload.length - 16, "data"));
    }

    // XFER_ABORT: migration u64 | disposition u8 (0 keep | 1 discard | 2 hand back) | reason (u16 length + UTF-8)
    public static byte[] abort(Abort a) {
        return new PayloadWriter().i64(a.migration()).u8(a.disposition().code)
                .string(a.reason(), false, Wire.MAX_ERROR_MESSAGE_BYTES).toByteArray();
    }

    public static Abort decodeAbort(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("XFER_ABORT", payload);
        long id = r.i64("migration");
        int code = r.u8("disposition");
        Disposition disposition = Disposition.of(code);
        if (disposition == null) throw r.malformed("disposition " + code + "; expected 0 (keep), 1 (discard) or 2 (hand back)");
        String reason = r.string("reason", false, 0, Wire.MAX_ERROR_MESSAGE_BYTES);
        r.end();
        return new Abort(id, disposition, reason);
    }

    // XFER_ABORTED: migration u64 | committed u8 (0|1)
    public static byte[] aborted(Aborted a) {
        return new PayloadWriter().i64(a.migration()).u8(a.committed() ? 1 : 0).toByteArray();
    }

    public static Aborted decodeAborted(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("XFER_ABORTED", payload);
        long id = r.i64("migration");
        boolean committed = flag(r, "committed");
        r.end();
        return new Aborted(id, committed);
    }

    /** The error a peer's ERROR frame carries: code and message. */
    public record Refusal(int code, String message) {
    }

    public static Refusal decodeError(byte[] payload) throws ProtocolException {
        Messages.Error e = Messages.decodeError(payload);
        return new Refusal(e.code(), e.message());
    }

    private static boolean flag(PayloadReader r, String field) throws ProtocolException {
        int v = r.u8(field);
        if (v > 1) {
            throw r.malformed(field + " flag " + v + "; expected 0 or 1");
        }
        return v == 1;
    }

    private static void checkChunk(int length) {
        if (length < 0 || length > MAX_CHUNK) {
            throw new IllegalArgumentException("chunk of " + length + " bytes; at most " + MAX_CHUNK);
        }
    }

    private static byte[] slice(byte[] data, int offset, int length) {
        if (offset == 0 && length == data.length) {
            return data;
        }
        return java.util.Arrays.copyOfRange(data, offset, offset + length);
    }
}
