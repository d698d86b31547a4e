package io.socketlauncher.connect;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds a service's ring: the sequence of real indexes the kernel side walks (rr, wrr), samples (random)
 * or hashes onto (sh). Drained reals (weight 0) are left out, so an empty ring means "no usable real".
 */
final class Schedule {
    private Schedule() {
    }

    /** {@code weights[i]} is the weight of real index i, or -1 for a free index. */
    static int[] ring(Scheduler scheduler, int[] weights, int maxRing) {
        List<Integer> usable = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) if (weights[i] > 0) usable.add(i);
        if (usable.isEmpty()) return new int[0];
        if (scheduler == Scheduler.RR) return usable.stream().mapToInt(Integer::intValue).toArray();

        long[] w = new long[weights.length];
        long g = 0;
        for (int i : usable) g = gcd(g, weights[i]);
        long total = 0;
        for (int i : usable) total += w[i] = weights[i] / g;
        if (total > maxRing) {
            // Scale down to fit; every usable real keeps at least one slot, so proportions are approximate
            // only for weights this large.
            long scaled = 0;
            for (int i : usable) scaled += w[i] = Math.max(1, w[i] * (maxRing - usable.size()) / total);
            total = scaled;
        }
        // Smooth weighted round-robin (as nginx): interleaves instead of sending bursts to one real.
        int[] ring = new int[(int) total];
        long[] current = new long[weights.length];
        for (int slot = 0; slot < total; slot++) {
            int best = -1;
            for (int i : usable) {
                current[i] += w[i];
                if (best < 0 || current[i] > current[best]) best = i;
            }
            current[best] -= total;
            ring[slot] = best;
        }
        return ring;
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
