package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.InetSocketAddress;

/**
 * Socket calls for hot paths that must not allocate (option structs read into a caller's array) and
 * for raw packets ({@code sendto} a given address). Both calls never block, so they pass Java arrays
 * to the kernel in place.
 */
public final class SocketCalls {
    public static final int SOCK_RAW = 3, IPPROTO_RAW = 255;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle GETSOCKOPT = critical("getsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle SENDTO = critical("sendto", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);

    private SocketCalls() {}

    private static MethodHandle critical(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"), Linker.Option.critical(true));
    }

    /** Reads an option into {@code into} (up to its length); returns the length the kernel wrote. */
    public static int getsockopt(int fd, int level, int name, byte[] into) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        s.len.set(JAVA_INT, 0, into.length);
        int r;
        try {
            r = (int) GETSOCKOPT.invokeExact(s.errno, fd, level, name, MemorySegment.ofArray(into), s.len);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error("getsockopt(" + SocketOptions.name(level, name) + ")", s);
        return Math.min(s.len.get(JAVA_INT, 0), into.length);
    }

    /** Sends one datagram (or raw packet) to {@code to}; returns the bytes sent. */
    public static int sendTo(int fd, byte[] data, int offset, int length, int flags, InetSocketAddress to)
            throws NativeException {
        Libc.Scratch s = Libc.scratch();
        int addressLength = SocketAddresses.encode(to, s.addr);
        long r;
        try {
            r = (long) SENDTO.invokeExact(s.errno, fd, MemorySegment.ofArray(data).asSlice(offset, length), (long) length,
                    flags | Libc.MSG_NOSIGNAL, s.addr, addressLength);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error("sendto(" + to + ")", s);
        return (int) r;
    }
}
