package io.socketlauncher.server;

/** Numbered byte streams: byte i of a stream is a hash of (i, salt), so any loss, duplicate or shift shows. */
final class Pattern {
    static final int CLIENT = 0x11, SERVER = 0x22;

    private Pattern() {}

    static byte at(long i, int salt) {
        long x = (i + salt) * 0x9E3779B97F4A7C15L;
        x ^= x >>> 29;
        return (byte) (x >>> 32);
    }

    static void fill(byte[] b, int length, long from, int salt) {
        for (int i = 0; i < length; i++) b[i] = at(from + i, salt);
    }

    /** The position of the first byte that differs, or -1. */
    static long firstMismatch(byte[] b, int length, long from, int salt) {
        for (int i = 0; i < length; i++) {
            if (b[i] != at(from + i, salt)) return from + i;
        }
        return -1;
    }
}
