package io.socketlauncher.proxy.control;

/**
 * The code an ERROR message carries. Codes below 100 are protocol violations: the sender of the offending frame
 * gets the error and the connection is closed. Codes from 100 answer a well-formed, authenticated request the
 * proxy could not carry out; the connection stays open.
 */
public enum ErrorCode {
    BAD_MAGIC(1),
    UNSUPPORTED_VERSION(2),
    FRAME_TOO_LARGE(3),
    TRUNCATED(4),
    MALFORMED(5),
    UNKNOWN_TYPE(6),
    UNEXPECTED_TYPE(7),
    AUTH_FAILED(8),
    REPLAY(9),
    NOT_AUTHENTICATED(10),
    TIMEOUT(11),
    TOO_MANY_CONNECTIONS(12),

    INVALID_ARGUMENT(100),
    OPERATION_FAILED(101),
    INTERNAL_ERROR(102);

    private final int code;

    ErrorCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public boolean closesConnection() {
        return code < 100;
    }

    /** The error with this code, or null if this version of the protocol has none. */
    public static ErrorCode of(int code) {
        for (ErrorCode e : values()) {
            if (e.code == code) {
                return e;
            }
        }
        return null;
    }
}
