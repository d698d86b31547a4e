package io.socketlauncher.server.hold;

import static org.assertj.core.api.Assertions.fail;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;

/** Numbered byte streams: byte i of a stream is a hash of (i, salt), so any loss, duplicate or shift shows. */
final class Streams {
    private Streams() {}

    static byte at(long i, int salt) {
        long x = (i + salt) * 0x9E3779B97F4A7C15L;
        x ^= x >>> 29;
        return (byte) (x >>> 32);
    }

    static byte[] pattern(long from, int length, int salt) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = at(from + i, salt);
        return b;
    }

    /** Reads exactly {@code length} bytes and checks each against the stream. */
    static void expect(int fd, long from, long length, int salt) throws NativeException {
        byte[] buf = new byte[256 * 1024];
        long done = 0;
        while (done < length) {
            if (Libc.poll(fd, Libc.POLLIN, 30_000) == 0) fail("nothing to read for 30 s after " + (from + done) + " of " + (from + length) + " bytes");
            int n = Libc.recv(fd, buf, 0, (int) Math.min(buf.length, length - done), Libc.MSG_DONTWAIT);
            if (n == 0) fail("end of stream after " + (from + done) + " bytes, expected " + (from + length));
            if (n < 0) continue;
            check(buf, n, from + done, salt);
            done += n;
        }
    }

    static void check(byte[] buf, int n, long position, int salt) {
        for (int i = 0; i < n; i++) {
            if (buf[i] != at(position + i, salt)) fail("byte " + (position + i) + " differs");
        }
    }
}
