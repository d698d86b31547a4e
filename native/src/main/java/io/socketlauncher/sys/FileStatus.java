package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/**
 * A descriptor's status flags ({@code fcntl F_GETFL/F_SETFL}): today only O_NONBLOCK, for handing a socket to an
 * event loop that expects non-blocking descriptors (Netty's epoll transport) and taking it back.
 */
public final class FileStatus {
    public static final int O_NONBLOCK = 0x800;
    private static final int F_GETFL = 3, F_SETFL = 4;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle FCNTL = LINKER.downcallHandle(LINKER.defaultLookup().find("fcntl").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));

    private FileStatus() {}

    public static boolean isNonBlocking(int fd) throws NativeException {
        return (flags(fd) & O_NONBLOCK) != 0;
    }

    public static void setNonBlocking(int fd, boolean nonBlocking) throws NativeException {
        int flags = flags(fd);
        int wanted = nonBlocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (wanted == flags) return;
        Libc.Scratch s = Libc.scratch();
        int r;
        try {
            r = (int) FCNTL.invokeExact(s.errno, fd, F_SETFL, wanted);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error("fcntl(F_SETFL)", s);
    }

    private static int flags(int fd) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        int r;
        try {
            r = (int) FCNTL.invokeExact(s.errno, fd, F_GETFL, 0);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error("fcntl(F_GETFL)", s);
        return r;
    }
}
