package io.socketlauncher.repair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;

/** Numbered byte streams: byte i of a stream is a hash of (i, salt), so any loss, duplicate or shift shows. */
final class Streams {
    static final int CLIENT = 0x11, SERVER = 0x22;

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

    static void send(int fd, long from, int length, int salt) throws NativeException {
        byte[] b = pattern(from, length, salt);
        int done = 0;
        while (done < length) {
            if (Libc.poll(fd, Libc.POLLOUT, 30_000) == 0) fail("no send progress in 30 s after " + (from + done) + " bytes");
            int n = Libc.send(fd, b, done, length - done, Libc.MSG_DONTWAIT);
            if (n > 0) done += n;
        }
    }

    /** Sends without blocking until the socket takes no more for a while; returns how many bytes it took. */
    static long fill(int fd, long from, int salt) throws Exception {
        byte[] chunk = new byte[64 * 1024];
        long sent = 0;
        long idleSince = System.nanoTime();
        while (System.nanoTime() - idleSince < 400_000_000L) {
            for (int i = 0; i < chunk.length; i++) chunk[i] = at(from + sent + i, salt);
            int n = Libc.send(fd, chunk, 0, chunk.length, Libc.MSG_DONTWAIT);
            if (n > 0) {
                sent += n;
                idleSince = System.nanoTime();
            } else {
                Thread.sleep(20);
            }
        }
        return sent;
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
            for (int i = 0; i < n; i++) {
                if (buf[i] != at(from + done + i, salt)) fail("byte " + (from + done + i) + " differs");
            }
            done += n;
        }
    }

    static void expectEnd(int fd) throws NativeException {
        byte[] b = new byte[1];
        assertThat(Libc.poll(fd, Libc.POLLIN, 30_000)).as("readable (end of stream) within 30 s").isNotZero();
        assertThat(Libc.recv(fd, b, 0, 1, Libc.MSG_DONTWAIT)).as("read at end of stream").isZero();
    }
}
