package io.socketlauncher.demo;

/**
 * A deterministic byte stream: byte {@code i} is a hash of {@code i} and the stream's salt, so a lost,
 * repeated or reordered byte anywhere shows up at once. The running offset is the only state a writer
 * or a checker keeps.
 */
public final class NumberedStream {
    public static final int CLIENT_TO_SERVER = 0x5eed01, SERVER_TO_CLIENT = 0x5eed02;

    private NumberedStream() {}

    public static byte at(long offset, int salt) {
        long x = (offset + salt) * 0x9E3779B97F4A7C15L;
        x ^= x >>> 29;
        return (byte) (x >>> 32);
    }

    public static void fill(byte[] into, int length, long offset, int salt) {
        for (int i = 0; i < length; i++) into[i] = at(offset + i, salt);
    }

    /** Returns -1 when all {@code length} bytes match the stream from {@code offset}, else the first bad offset. */
    public static long firstMismatch(byte[] data, int length, long offset, int salt) {
        for (int i = 0; i < length; i++) {
            if (data[i] != at(offset + i, salt)) return offset + i;
        }
        return -1;
    }
}
