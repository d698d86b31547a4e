package io.socketlauncher.demo.resp;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses RESP2 requests as Redis accepts them: arrays of bulk strings ({@code *2\r\n$3\r\nGET\r\n$1\r\nk\r\n}) and
 * inline commands ({@code GET k\r\n}, with Redis's quoting). Every length is bounded before anything is allocated
 * or waited for, so a client can make the server hold at most {@link #MAX_REQUEST} bytes of one request.
 *
 * <p>The parser works on the bytes the caller has read but not yet processed; the request being parsed starts at
 * the front of them and stays there until it is complete. It remembers how far it got, so a request that arrives
 * in many pieces is not scanned again from the start each time; that memory is an optimisation only: a fresh
 * parser given the same bytes (after a migration) finds the same requests.
 */
public final class RespParser {
    /** Longest bulk string (Redis: 512 MB). */
    public static final int MAX_BULK = 1 << 20;
    /** Most elements in one request array (Redis: INT_MAX). */
    public static final int MAX_ELEMENTS = 1 << 20;
    /** Longest inline command line, as in Redis (PROTO_INLINE_MAX_SIZE). */
    public static final int MAX_INLINE = 64 * 1024;
    /** Most bytes of one request, all elements included (Redis's client-query-buffer-limit is 1 GB). */
    public static final int MAX_REQUEST = 8 << 20;
    /** Longest "*count" or "$length" line: the largest allowed number has 7 digits. */
    private static final int MAX_LENGTH_LINE = 32;

    /** One request: its arguments (empty for the blank requests Redis skips) and how many bytes it took. */
    public record Request(List<byte[]> args, int length) {}

    private int expected = -1;
    private List<byte[]> args;
    private int position;

    /**
     * The request at the front of {@code data[from, to)}, or null when its bytes are not all there yet.
     * After a request is returned the caller drops its {@code length} bytes before the next call.
     */
    public Request next(byte[] data, int from, int to) throws RespProtocolException {
        if (from >= to) return null;
        Request r = data[from] == '*' ? multibulk(data, from, to) : inline(data, from, to);
        if (r != null) {
            expected = -1;
            args = null;
            position = 0;
        } else if (to - from > MAX_REQUEST) {
            throw new RespProtocolException("request larger than " + MAX_REQUEST + " bytes");
        }
        return r;
    }

    private Request multibulk(byte[] data, int from, int to) throws RespProtocolException {
        if (expected < 0) {
            int cr = lineEnd(data, from + 1, to, "mbulk count");
            if (cr < 0) return null;
            long count = parseLength(data, from + 1, cr);
            if (count == Long.MIN_VALUE || count > MAX_ELEMENTS) throw new RespProtocolException("invalid multibulk length");
            position = cr + 2 - from;
            if (count <= 0) return new Request(List.of(), position);
            expected = (int) count;
            args = new ArrayList<>(Math.min(expected, 16));
        }
        while (args.size() < expected) {
            int at = from + position;
            if (at >= to) return null;
            if (data[at] != '$') throw new RespProtocolException("expected '$', got '" + printable(data[at]) + "'");
            int cr = lineEnd(data, at + 1, to, "bulk count");
            if (cr < 0) return null;
            long length = parseLength(data, at + 1, cr);
            if (length < 0 || length > MAX_BULK) throw new RespProtocolException("invalid bulk length");
            int start = cr + 2;
            long end = start + length + 2;
            if (end - from > MAX_REQUEST) throw new RespProtocolException("request larger than " + MAX_REQUEST + " bytes");
            if (end > to) return null;
            if (data[start + (int) length] != '\r' || data[start + (int) length + 1] != '\n') {
                throw new RespProtocolException("bulk string of " + length + " bytes not followed by CRLF");
            }
            byte[] arg = new byte[(int) length];
            System.arraycopy(data, start, arg, 0, arg.length);
            args.add(arg);
            position = (int) (end - from);
        }
        return new Request(args, position);
    }

    /** Index of the CR that ends a length line starting at {@code from}, or -1 while it is incomplete. */
    private static int lineEnd(byte[] data, int from, int to, String what) throws RespProtocolException {
        int limit = Math.min(to, from + MAX_LENGTH_LINE);
        for (int i = from; i < limit; i++) {
            if (data[i] == '\r') {
                if (i + 1 >= to) return -1;
                if (data[i + 1] != '\n') throw new RespProtocolException("expected '\\n' after '\\r' in a " + what);
                return i;
            }
        }
        if (to - from >= MAX_LENGTH_LINE) throw new RespProtocolException("too big " + what + " string");
        return -1;
    }

    /** Redis's string2ll on a protocol length: digits only, optional '-', no leading zeros; MIN_VALUE if invalid. */
    private static long parseLength(byte[] data, int from, int to) {
        Long v = parseStrictLong(data, from, to);
        return v == null ? Long.MIN_VALUE : v;
    }

    /**
     * A signed decimal as Redis reads integers (string2ll): no sign but '-', no spaces, no leading zeros, no
     * "-0", within a long. Null otherwise.
     */
    public static Long parseStrictLong(byte[] data, int from, int to) {
        int len = to - from;
        if (len <= 0 || len > 20) return null;
        if (len == 1 && data[from] == '0') return 0L;
        boolean negative = data[from] == '-';
        int i = negative ? from + 1 : from;
        if (i >= to || data[i] < '1' || data[i] > '9') return null;
        long v = 0;
        for (; i < to; i++) {
            int d = data[i] - '0';
            if (d < 0 || d > 9) return null;
            // accumulate negatively: Long.MIN_VALUE has no positive twin
            if (v < (Long.MIN_VALUE + d) / 10) return null;
            v = v * 10 - d;
        }
        if (!negative) {
            if (v == Long.MIN_VALUE) return null;
            v = -v;
        }
        return v;
    }

    private Request inline(byte[] data, int from, int to) throws RespProtocolException {
        int limit = Math.min(to, from + MAX_INLINE + 1);
        int newline = -1;
        for (int i = from + position; i < limit; i++) {
            if (data[i] == '\n') {
                newline = i;
                break;
            }
        }
        if (newline < 0) {
            if (to - from > MAX_INLINE) throw new RespProtocolException("too big inline request");
            position = limit - from;
            return null;
        }
        int end = newline > from && data[newline - 1] == '\r' ? newline - 1 : newline;
        return new Request(splitInline(data, from, end), newline + 1 - from);
    }

    /** Redis's sdssplitargs: blanks separate, "double quotes" with escapes, 'single quotes' with \' only. */
    static List<byte[]> splitInline(byte[] data, int from, int to) throws RespProtocolException {
        List<byte[]> out = new ArrayList<>();
        int p = from;
        while (true) {
            while (p < to && isSpace(data[p])) p++;
            if (p >= to) return out;
            ByteBuilder current = new ByteBuilder();
            boolean inDouble = false, inSingle = false, done = false;
            while (!done) {
                if (inDouble) {
                    if (p >= to) throw new RespProtocolException("unbalanced quotes in request");
                    byte c = data[p];
                    if (c == '\\' && p + 3 < to && data[p + 1] == 'x' && hex(data[p + 2]) >= 0 && hex(data[p + 3]) >= 0) {
                        current.add((byte) (hex(data[p + 2]) * 16 + hex(data[p + 3])));
                        p += 3;
                    } else if (c == '\\' && p + 1 < to) {
                        p++;
                        current.add(switch (data[p]) {
                            case 'n' -> (byte) '\n';
                            case 'r' -> (byte) '\r';
                            case 't' -> (byte) '\t';
                            case 'b' -> (byte) '\b';
                            case 'a' -> (byte) 7;
                            default -> data[p];
                        });
                    } else if (c == '"') {
                        if (p + 1 < to && !isSpace(data[p + 1])) throw new RespProtocolException("unbalanced quotes in request");
                        done = true;
                    } else {
                        current.add(c);
                    }
                } else if (inSingle) {
                    if (p >= to) throw new RespProtocolException("unbalanced quotes in request");
                    byte c = data[p];
                    if (c == '\\' && p + 1 < to && data[p + 1] == '\'') {
                        p++;
                        current.add((byte) '\'');
                    } else if (c == '\'') {
                        if (p + 1 < to && !isSpace(data[p + 1])) throw new RespProtocolException("unbalanced quotes in request");
                        done = true;
                    } else {
                        current.add(c);
                    }
                } else if (p >= to || isSpace(data[p])) {
                    done = true;
                } else if (data[p] == '"') {
                    inDouble = true;
                } else if (data[p] == '\'') {
                    inSingle = true;
                } else {
                    current.add(data[p]);
                }
                if (p < to) p++;
            }
            out.add(current.toArray());
        }
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == '\f';
    }

    private static int hex(byte c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    static String printable(byte b) {
        return b >= 0x20 && b < 0x7f ? Character.toString((char) b) : String.format("\\x%02x", b & 0xff);
    }

    /** A growable byte array for inline arguments, which the line length already bounds. */
    private static final class ByteBuilder {
        private byte[] bytes = new byte[16];
        private int size;

        void add(byte b) {
            if (size == bytes.length) bytes = java.util.Arrays.copyOf(bytes, size * 2);
            bytes[size++] = b;
        }

        byte[] toArray() {
            return java.util.Arrays.copyOf(bytes, size);
        }
    }
}
