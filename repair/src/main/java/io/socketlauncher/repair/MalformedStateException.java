package io.socketlauncher.repair;

import java.io.IOException;

/** Bytes that are not a valid encoded {@link TcpState}; the message names the field and the offset. */
public final class MalformedStateException extends IOException {
    private final int offset;

    public MalformedStateException(String message, int offset) {
        super(message + " (at byte " + offset + ")");
        this.offset = offset;
    }

    /** Where in the input the problem was found. */
    public int offset() {
        return offset;
    }
}
