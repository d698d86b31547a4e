package io.socketlauncher.server.policy;

/**
 * A drain while it runs: connections the policy knows here (moved ones excluded), moved so far, transfers in
 * flight, failed attempts so far (a failed connection is tried again, up to the agent's limit).
 */
public record DrainProgress(int remaining, int moved, int inFlight, int failedAttempts, boolean done) {
}
