package io.socketlauncher.proxy.control;

import java.io.IOException;

/** A peer broke the protocol; the receiver answers with an ERROR of this code (if it still can) and closes. */
public final class ProtocolException extends IOException {
    private final ErrorCode code;
    private final int requestId;

    public ProtocolException(ErrorCode code, String message) {
        this(code, 0, message);
    }

    public ProtocolException(ErrorCode code, int requestId, String message) {
        super(message);
        this.code = code;
        this.requestId = requestId;
    }

    public ErrorCode code() {
        return code;
    }

    /** The request id of the offending frame, 0 if it was not read far enough to know. */
    public int requestId() {
        return requestId;
    }
}
