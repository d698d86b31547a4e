package io.socketlauncher.server.migration;

import java.io.IOException;

/**
 * A {@link SocketRepair#depart} that failed, and at which step. Whatever the step, the socket has been taken out of
 * repair mode again and still serves here (unless that too failed: then it says so in a suppressed exception); the
 * forwarding may be in place and is the caller's to stop.
 */
public final class DepartureException extends IOException {
    /** The steps of a departure, in order. */
    public enum Step { FORWARD, DRAIN, CAPTURE }

    private final Step step;

    public DepartureException(Step step, String message, Throwable cause) {
        super(message, cause);
        this.step = step;
    }

    public Step step() {
        return step;
    }
}
