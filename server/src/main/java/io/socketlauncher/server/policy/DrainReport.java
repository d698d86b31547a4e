package io.socketlauncher.server.policy;

import io.socketlauncher.server.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How a drain ended: how many connections moved, which stayed and why, which were lost (a transfer whose outcome
 * could not be established, see {@link io.socketlauncher.server.TransferException#stayedOnSource()}), and whether
 * the proxy took this server's weight to 0.
 */
public record DrainReport(int moved, List<Stayed> stayed, List<Stayed> lost, Duration took, Optional<String> proxyWeightProblem) {
    /** A connection that is still here (or, in {@link #lost}, whose fate is unknown), and why. */
    public record Stayed(Connection connection, String reason) {
    }

    public boolean complete() {
        return stayed.isEmpty() && lost.isEmpty();
    }
}
