package io.socketlauncher.server.policy;

import java.util.Objects;
import java.util.Random;
import java.util.random.RandomGenerator;

/**
 * The seed's transfer rule: before a new request joins the queue, the connection moves to a peer with probability
 * {@code 1 / (1 + exp(-k (q - threshold)))}, where {@code q} is the server's load (its queue length). At the
 * threshold the probability is one half; {@code k} (the steepness) sets how sharply it rises around it, so a server
 * sheds a little load early and most of it once it is well past the threshold.
 */
public final class LogisticThreshold {
    private final double threshold;
    private final double steepness;
    private final RandomGenerator random;

    /** @param random the draws; inject a seeded one to make decisions reproducible. Must be thread-safe if shared. */
    public LogisticThreshold(double threshold, double steepness, RandomGenerator random) {
        if (!Double.isFinite(threshold) || threshold < 0) {
            throw new IllegalArgumentException("threshold must be a finite load >= 0, not " + threshold);
        }
        if (!Double.isFinite(steepness) || steepness <= 0) {
            throw new IllegalArgumentException("steepness must be finite and positive, not " + steepness);
        }
        this.threshold = threshold;
        this.steepness = steepness;
        this.random = Objects.requireNonNull(random, "random");
    }

    public LogisticThreshold(double threshold, double steepness) {
        this(threshold, steepness, new Random());
    }

    public double threshold() {
        return threshold;
    }

    public double steepness() {
        return steepness;
    }

    /** The probability of moving a connection at load {@code q}. */
    public double probability(double q) {
        return 1.0 / (1.0 + Math.exp(-steepness * (q - threshold)));
    }

    /** One draw: whether this connection moves at load {@code q}. */
    public boolean shouldTransfer(double q) {
        return random.nextDouble() < probability(q);
    }

    @Override
    public String toString() {
        return "LogisticThreshold[threshold=" + threshold + ", k=" + steepness + "]";
    }
}
