package io.socketlauncher.demo.resp;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Replies in RESP2, collected until the connection writes them out in one send. */
public final class ReplyBuffer {
    private static final byte[] CRLF = {'\r', '\n'};
    private byte[] bytes = new byte[4096];
    private int size;

    public ReplyBuffer simple(String s) {
        return add('+').ascii(s).add(CRLF);
    }

    /** An error reply; {@code message} starts with its code ("ERR ...", "WRONGTYPE ..."). */
    public ReplyBuffer error(String message) {
        return add('-').ascii(message.replace('\r', ' ').replace('\n', ' ')).add(CRLF);
    }

    public ReplyBuffer integer(long v) {
        return add(':').ascii(Long.toString(v)).add(CRLF);
    }

    public ReplyBuffer bulk(byte[] b) {
        if (b == null) return ascii("$-1").add(CRLF);
        return add('$').ascii(Integer.toString(b.length)).add(CRLF).add(b).add(CRLF);
    }

    public ReplyBuffer array(int elements) {
        return add('*').ascii(Integer.toString(elements)).add(CRLF);
    }

    /** Appends replies collected elsewhere. */
    public ReplyBuffer raw(ReplyBuffer other) {
        ensure(other.size);
        System.arraycopy(other.bytes, 0, bytes, size, other.size);
        size += other.size;
        return this;
    }

    public int size() {
        return size;
    }

    public byte[] array() {
        return bytes;
    }

    public void clear() {
        size = 0;
    }

    private ReplyBuffer ascii(String s) {
        return add(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    private ReplyBuffer add(char c) {
        ensure(1);
        bytes[size++] = (byte) c;
        return this;
    }

    private ReplyBuffer add(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, bytes, size, b.length);
        size += b.length;
        return this;
    }

    private void ensure(int more) {
        if (size + more > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
    }
}
