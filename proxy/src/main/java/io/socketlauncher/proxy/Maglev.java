package io.socketlauncher.proxy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Maglev's lookup table (Eisenbud et al., NSDI'16), weighted: each backend fills table slots along its
 * own permutation, and in each round a backend places entries in proportion to its weight. A backend's
 * permutation depends only on its id, so adding or removing one moves few slots of the others.
 */
final class Maglev {
    record Entry(String id, int slot, int weight) {}

    private Maglev() {}

    /** The table: for each of {@code size} (prime) slots, the backend slot; empty input gives all -1. */
    static int[] table(List<Entry> entries, int size) {
        int[] table = new int[size];
        Arrays.fill(table, -1);
        List<Entry> live = entries.stream().filter(e -> e.weight() > 0).sorted((a, b) -> a.id().compareTo(b.id())).toList();
        if (live.isEmpty()) return table;
        int n = live.size();
        long[] offset = new long[n], skip = new long[n], next = new long[n];
        double[] credit = new double[n];
        int maxWeight = live.stream().mapToInt(Entry::weight).max().orElseThrow();
        for (int i = 0; i < n; i++) {
            byte[] id = live.get(i).id().getBytes(StandardCharsets.UTF_8);
            offset[i] = Long.remainderUnsigned(hash(id, 0x9E3779B97F4A7C15L), size);
            skip[i] = Long.remainderUnsigned(hash(id, 0xC2B2AE3D27D4EB4FL), size - 1) + 1;
        }
        int filled = 0;
        while (true) {
            for (int i = 0; i < n; i++) {
                credit[i] += (double) live.get(i).weight() / maxWeight;
                while (credit[i] >= 1) {
                    credit[i] -= 1;
                    long c;
                    do {
                        c = (offset[i] + next[i] * skip[i]) % size;
                        next[i]++;
                    } while (table[(int) c] >= 0);
                    table[(int) c] = live.get(i).slot();
                    if (++filled == size) return table;
                }
            }
        }
    }

    /** 64-bit FNV-1a, then a final mix: stable across runs and JVMs, unlike String.hashCode spread. */
    private static long hash(byte[] data, long seed) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : data) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return h;
    }
}
