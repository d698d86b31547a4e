package io.socketlauncher.sys;

import java.io.IOException;

/** A failed native call: names the call and the errno it returned, e.g. {@code setsockopt(TCP_REPAIR): EPERM (Operation not permitted)}. */
public final class NativeException extends IOException {
    private final String call;
    private final int errno;

    public NativeException(String call, int errno) {
        super(call + ": " + Errno.name(errno) + " (" + Errno.describe(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    public String call() { return call; }

    public int errno() { return errno; }

    public boolean is(int expected) { return errno == expected; }
}
