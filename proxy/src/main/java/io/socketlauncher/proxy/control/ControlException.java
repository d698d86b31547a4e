package io.socketlauncher.proxy.control;

import java.io.IOException;

/** The remote end answered a request with an ERROR message. */
public final class ControlException extends IOException {
    private final int code;

    public ControlException(String message, int code) {
        super(message);
        this.code = code;
    }

    /** The numeric code as received. */
    public int code() {
        return code;
    }

    /** The code as this version of the protocol knows it, or null for a code from a newer peer. */
    public ErrorCode errorCode() {
        return ErrorCode.of(code);
    }
}
