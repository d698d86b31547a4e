package io.socketlauncher.demo.resp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Sixteen databases of keys holding strings or lists. The demo's servers run in one JVM and share one keyspace:
 * the demo moves connections between servers, it does not replicate data, so a key set through s1 is read back
 * through s2 because both look at this same object.
 */
public final class Keyspace {
    public static final int DATABASES = 16;

    /** A key holding the wrong kind of value for the operation (Redis's WRONGTYPE). */
    public static final class WrongTypeException extends RuntimeException {
        WrongTypeException() {
            super("WRONGTYPE Operation against a key holding the wrong kind of value", null, false, false);
        }
    }

    /** The value INCR found is no 64-bit integer, or the increment overflows. */
    public static final class NotAnIntegerException extends RuntimeException {
        NotAnIntegerException(String message) {
            super(message, null, false, false);
        }
    }

    private final ConcurrentMap<String, Object>[] databases;

    @SuppressWarnings("unchecked")
    public Keyspace() {
        databases = new ConcurrentMap[DATABASES];
        for (int i = 0; i < DATABASES; i++) databases[i] = new ConcurrentHashMap<>();
    }

    /** Bytes as a String one char per byte: a compact, exact map key. */
    private static String key(byte[] key) {
        return new String(key, StandardCharsets.ISO_8859_1);
    }

    public byte[] get(int db, byte[] key) {
        Object v = databases[db].get(key(key));
        if (v == null) return null;
        if (v instanceof byte[] bytes) return bytes;
        throw new WrongTypeException();
    }

    public void set(int db, byte[] key, byte[] value) {
        databases[db].put(key(key), value.clone());
    }

    public long incr(int db, byte[] key) {
        long[] result = new long[1];
        databases[db].compute(key(key), (k, v) -> {
            long current = 0;
            if (v instanceof byte[] bytes) {
                Long parsed = RespParser.parseStrictLong(bytes, 0, bytes.length);
                if (parsed == null) throw new NotAnIntegerException("ERR value is not an integer or out of range");
                current = parsed;
            } else if (v != null) {
                throw new WrongTypeException();
            }
            if (current == Long.MAX_VALUE) throw new NotAnIntegerException("ERR increment or decrement would overflow");
            result[0] = current + 1;
            return Long.toString(result[0]).getBytes(StandardCharsets.US_ASCII);
        });
        return result[0];
    }

    /** Pushes each value at the head of the list, as LPUSH does; the list's new length. */
    public long lpush(int db, byte[] key, java.util.List<byte[]> values) {
        long[] length = new long[1];
        databases[db].compute(key(key), (k, v) -> {
            ArrayDeque<byte[]> list;
            if (v == null) list = new ArrayDeque<>();
            else if (v instanceof ArrayDeque<?> existing) {
                @SuppressWarnings("unchecked") ArrayDeque<byte[]> l = (ArrayDeque<byte[]>) existing;
                list = l;
            } else throw new WrongTypeException();
            for (byte[] value : values) list.addFirst(value.clone());
            length[0] = list.size();
            return list;
        });
        return length[0];
    }

    public int size(int db) {
        return databases[db].size();
    }
}
