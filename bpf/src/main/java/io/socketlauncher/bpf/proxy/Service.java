package io.socketlauncher.bpf.proxy;

import java.nio.ByteBuffer;
import java.util.List;

/** struct proxy_service: how new flows of one VIP choose among its backends (indexes into the backend table). */
public record Service(int id, boolean fullNat, boolean sharedSnat, Algorithm algorithm, List<Integer> candidates) {
    public static final int MAX_SERVICES = 16, MAX_CANDIDATES = 32;
    static final int SIZE = 16 + 4 * MAX_CANDIDATES;

    public enum Algorithm { MAGLEV, ROUND_ROBIN, LEAST_CONNECTIONS }

    public Service {
        if (id < 0 || id >= MAX_SERVICES) throw new IllegalArgumentException("service id out of range: " + id);
        if (candidates.size() > MAX_CANDIDATES) {
            throw new IllegalArgumentException("a service takes at most " + MAX_CANDIDATES + " backends, got " + candidates.size());
        }
        candidates = List.copyOf(candidates);
    }

    public byte[] encode() {
        byte[] out = new byte[SIZE];
        ByteBuffer b = Wire.buffer(out);
        b.putInt(id).putInt((fullNat ? 1 : 0) | (sharedSnat ? 2 : 0)).putInt(algorithm.ordinal()).putInt(candidates.size());
        for (int c : candidates) b.putInt(c);
        return out;
    }
}
