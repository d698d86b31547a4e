package io.socketlauncher.testbed;

import io.socketlauncher.sys.Libc;
import java.io.IOException;

/**
 * The checkable traffic of tests, demos and benchmarks: byte {@code i} of a stream is a hash of {@code i} and
 * the stream's salt, so a lost, repeated or reordered byte anywhere shows at once, and a writer or a checker
 * keeps no state but its offset.
 */
public final class NumberedStream {
    public static final int CLIENT_TO_SERVER = 0x5eed01, SERVER_TO_CLIENT = 0x5eed02;
    private static final int PATIENCE_MILLIS = 30_000;

    private NumberedStream() {}

    public static byte at(long offset, int salt) {
        long x = (offset + salt) * 0x9E3779B97F4A7C15L;
        x ^= x >>> 29;
        return (byte) (x >>> 32);
    }

    public static void fill(byte[] into, int length, long offset, int salt) {
        for (int i = 0; i < length; i++) into[i] = at(offset + i, salt);
    }

    public static byte[] pattern(long offset, int length, int salt) {
        byte[] b = new byte[length];
        fill(b, length, offset, salt);
        return b;
    }

    /** -1 when all {@code length} bytes match the stream from {@code offset}, else the first offset that differs. */
    public static long firstMismatch(byte[] data, int length, long offset, int salt) {
        for (int i = 0; i < length; i++) {
            if (data[i] != at(offset + i, salt)) return offset + i;
        }
        return -1;
    }

    /** Sends bytes {@code offset .. offset+length} of the stream, failing if the socket takes nothing for 30 s. */
    public static void send(int fd, long offset, int length, int salt) throws IOException {
        byte[] b = pattern(offset, length, salt);
        int done = 0;
        while (done < length) {
            if (Libc.poll(fd, Libc.POLLOUT, PATIENCE_MILLIS) == 0) {
                throw new IOException("no send progress in 30 s after " + (offset + done) + " bytes");
            }
            int n = Libc.send(fd, b, done, length - done, Libc.MSG_DONTWAIT);
            if (n > 0) done += n;
        }
    }

    /** Reads exactly {@code length} bytes and checks each against the stream from {@code offset}. */
    public static void expect(int fd, long offset, long length, int salt) throws IOException {
        // Sized to the read: a benchmark checks a small exchange per migration, and a fixed 256 KB buffer for each made
        // its young collections (30-80 ms pauses) land in the migrations it timed.
        byte[] buf = new byte[(int) Math.min(256 * 1024, length)];
        long done = 0;
        while (done < length) {
            if (Libc.poll(fd, Libc.POLLIN, PATIENCE_MILLIS) == 0) {
                throw new IOException("nothing to read for 30 s after " + (offset + done) + " of " + (offset + length) + " bytes");
            }
            int n = Libc.recv(fd, buf, 0, (int) Math.min(buf.length, length - done), Libc.MSG_DONTWAIT);
            if (n == 0) throw new IOException("end of stream after " + (offset + done) + " bytes, expected " + (offset + length));
            if (n < 0) continue;
            long bad = firstMismatch(buf, n, offset + done, salt);
            if (bad >= 0) throw new IOException("byte " + bad + " differs from the stream");
            done += n;
        }
    }
}
