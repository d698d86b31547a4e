package io.socketlauncher.server;

import java.io.IOException;

/**
 * A transfer that did not happen. {@link #stayedOnSource()} says the rollback left the connection alive
 * on this server (the application carries on with it as before); false means the outcome could not be
 * established (the proxy or the peer stopped answering at a point of no return).
 */
public final class TransferException extends IOException {
    /** The protocol step that failed. */
    public enum Stage { PREPARE, REDIRECT, DRAIN, CAPTURE, XFER }

    private final Stage stage;
    private final boolean stayedOnSource;

    public TransferException(Stage stage, boolean stayedOnSource, String message, Throwable cause) {
        super(stage + ": " + message, cause);
        this.stage = stage;
        this.stayedOnSource = stayedOnSource;
    }

    public Stage stage() {
        return stage;
    }

    public boolean stayedOnSource() {
        return stayedOnSource;
    }
}
