package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;

/**
 * The libc calls Socket Launcher needs, through the FFM API. Every call that fails throws a
 * {@link NativeException} naming the call and its errno. Buffers cross as {@code byte[]}: no caller
 * outside this package handles foreign memory.
 *
 * <p>Each thread keeps its own scratch memory (errno capture, socket address, option and I/O buffers),
 * so the hot paths allocate nothing.
 */
public final class Libc {
    public static final int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10;
    public static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1, SOL_IP = 0, SOL_IPV6 = 41, SOL_TCP = 6, IPPROTO_TCP = 6, IPPROTO_UDP = 17;
    public static final int SO_REUSEADDR = 2, SO_ERROR = 4, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_KEEPALIVE = 9,
            SO_LINGER = 13, SO_REUSEPORT = 15, SO_RCVLOWAT = 18, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33,
            SO_MARK = 36, SO_COOKIE = 57;
    public static final int IP_TRANSPARENT = 19, IP_FREEBIND = 15, IP_TOS = 1, IP_TTL = 2;
    public static final int TCP_NODELAY = 1, TCP_MAXSEG = 2, TCP_CORK = 3, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5,
            TCP_KEEPCNT = 6, TCP_INFO = 11, TCP_QUICKACK = 12, TCP_CONGESTION = 13, TCP_USER_TIMEOUT = 18,
            TCP_REPAIR = 19, TCP_REPAIR_QUEUE = 20, TCP_QUEUE_SEQ = 21, TCP_REPAIR_OPTIONS = 22,
            TCP_TIMESTAMP = 24, TCP_NOTSENT_LOWAT = 25, TCP_REPAIR_WINDOW = 29;
    public static final int TCP_REPAIR_ON = 1, TCP_REPAIR_OFF = 0, TCP_REPAIR_OFF_NO_WP = -1;
    public static final int TCP_RECV_QUEUE = 1, TCP_SEND_QUEUE = 2;
    public static final int TCPOPT_MAXSEG = 2, TCPOPT_WINDOW = 3, TCPOPT_SACK_PERM = 4, TCPOPT_TIMESTAMP = 8;
    public static final long SIOCINQ = 0x541B, SIOCOUTQ = 0x5411, SIOCOUTQNSD = 0x894B;
    public static final int MSG_PEEK = 0x2, MSG_DONTWAIT = 0x40, MSG_WAITALL = 0x100, MSG_NOSIGNAL = 0x4000;
    public static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
    public static final int CLONE_NEWNET = 0x40000000;
    public static final int O_RDONLY = 0, O_CLOEXEC = 0x80000, O_DIRECTORY = 0x10000;
    public static final short POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final int SCRATCH_IO = 256 * 1024;

    private static final MethodHandle SOCKET = call("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle BIND = call("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle LISTEN = call("listen", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle ACCEPT4 = call("accept4", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
    private static final MethodHandle CONNECT = call("connect", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle CLOSE = call("close", JAVA_INT, JAVA_INT);
    private static final MethodHandle SHUTDOWN = call("shutdown", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle SETSOCKOPT = critical("setsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle GETSOCKOPT = call("getsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GETSOCKNAME = call("getsockname", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GETPEERNAME = call("getpeername", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle IOCTL = variadic("ioctl", 2, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS);
    private static final MethodHandle SEND = call("send", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle RECV = call("recv", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle SEND_HEAP = critical("send", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle RECV_HEAP = critical("recv", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle POLL = call("poll", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle SETNS = call("setns", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle OPEN = variadic("open", 2, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle IF_NAMETOINDEX = call("if_nametoindex", JAVA_INT, ADDRESS);
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LIBC.find("strerror").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Libc() {}

    /** Per-thread native memory reused by every call on that thread. */
    static final class Scratch {
        final Arena arena = Arena.ofAuto();
        final MemorySegment errno = arena.allocate(CAPTURE);
        final MemorySegment addr = arena.allocate(128, 8);
        final MemorySegment len = arena.allocate(JAVA_INT);
        final MemorySegment pollfd = arena.allocate(8, 8);
        MemorySegment io = arena.allocate(SCRATCH_IO, 8);

        int errno() {
            return (int) ERRNO.get(errno, 0L);
        }

        MemorySegment buffer(long size) {
            if (io.byteSize() < size) {
                io = arena.allocate(Math.max(size, io.byteSize() * 2), 8);
            }
            return io;
        }
    }

    static Scratch scratch() {
        return SCRATCH.get();
    }

    static NativeException error(String call, Scratch s) {
        return new NativeException(call, s.errno());
    }

    static AssertionError linkageFailure(Throwable t) {
        return new AssertionError("native call failed to link or run: " + t, t);
    }

    private static MethodHandle call(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"));
    }

    /** For calls that never block: may read and write the Java heap directly, no copy. */
    private static MethodHandle critical(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"), Linker.Option.critical(true));
    }

    private static MethodHandle variadic(String name, int firstVariadic, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(firstVariadic));
    }

    public static String strerror(int errno) {
        try {
            MemorySegment p = (MemorySegment) STRERROR.invokeExact(errno);
            return p.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    public static int socket(int domain, int type, int protocol) throws NativeException {
        Scratch s = scratch();
        int r;
        try {
            r = (int) SOCKET.invokeExact(s.errno, domain, type, protocol);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("socket", s);
        return r;
    }

    public static void bind(int fd, InetSocketAddress address) throws NativeException {
        Scratch s = scratch();
        int len = SocketAddresses.encode(address, s.addr);
        int r;
        try {
            r = (int) BIND.invokeExact(s.errno, fd, s.addr, len);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("bind(" + address + ")", s);
    }

    public static void listen(int fd, int backlog) throws NativeException {
        Scratch s = scratch();
        int r;
        try {
            r = (int) LISTEN.invokeExact(s.errno, fd, backlog);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("listen", s);
    }

    /** Blocks until a connection arrives (unless the listener is non-blocking); returns its fd. */
    public static int accept(int fd, int flags) throws NativeException {
        Scratch s = scratch();
        while (true) {
            int r;
            try {
                r = (int) ACCEPT4.invokeExact(s.errno, fd, MemorySegment.NULL, MemorySegment.NULL, flags);
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r >= 0) return r;
            if (s.errno() != Errno.EINTR) throw error("accept4", s);
        }
    }

    public static void connect(int fd, InetSocketAddress address) throws NativeException {
        Scratch s = scratch();
        int len = SocketAddresses.encode(address, s.addr);
        int r;
        try {
            r = (int) CONNECT.invokeExact(s.errno, fd, s.addr, len);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("connect(" + address + ")", s);
    }

    public static void close(int fd) throws NativeException {
        Scratch s = scratch();
        int r;
        try {
            r = (int) CLOSE.invokeExact(s.errno, fd);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0 && s.errno() != Errno.EINTR) throw error("close", s);
    }

    /** Closes and swallows the error: for cleanup paths where the first failure is the one to report. */
    public static void closeQuietly(int fd) {
        if (fd < 0) return;
        try {
            close(fd);
        } catch (NativeException ignored) {
            // the fd is released by the kernel even when close reports an error
        }
    }

    public static void shutdown(int fd, int how) throws NativeException {
        Scratch s = scratch();
        int r;
        try {
            r = (int) SHUTDOWN.invokeExact(s.errno, fd, how);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("shutdown", s);
    }

    public static void setsockopt(int fd, int level, int name, int value) throws NativeException {
        Scratch s = scratch();
        s.len.set(JAVA_INT, 0, value);
        int r;
        try {
            r = (int) SETSOCKOPT.invokeExact(s.errno, fd, level, name, s.len, 4);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("setsockopt(" + SocketOptions.name(level, name) + "=" + value + ")", s);
    }

    public static void setsockopt(int fd, int level, int name, byte[] value) throws NativeException {
        Scratch s = scratch();
        int r;
        try {
            r = (int) SETSOCKOPT.invokeExact(s.errno, fd, level, name, MemorySegment.ofArray(value), value.length);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("setsockopt(" + SocketOptions.name(level, name) + ")", s);
    }

    public static int getsockoptInt(int fd, int level, int name) throws NativeException {
        Scratch s = scratch();
        MemorySegment value = s.addr;
        s.len.set(JAVA_INT, 0, 4);
        int r;
        try {
            r = (int) GETSOCKOPT.invokeExact(s.errno, fd, level, name, value, s.len);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("getsockopt(" + SocketOptions.name(level, name) + ")", s);
        return value.get(JAVA_INT, 0);
    }

    /** Reads an option of up to {@code maxLength} bytes; the array returned has the length the kernel wrote. */
    public static byte[] getsockopt(int fd, int level, int name, int maxLength) throws NativeException {
        Scratch s = scratch();
        MemorySegment value = s.buffer(maxLength);
        s.len.set(JAVA_INT, 0, maxLength);
        int r;
        try {
            r = (int) GETSOCKOPT.invokeExact(s.errno, fd, level, name, value, s.len);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("getsockopt(" + SocketOptions.name(level, name) + ")", s);
        int written = Math.min(s.len.get(JAVA_INT, 0), maxLength);
        return value.asSlice(0, written).toArray(JAVA_BYTE);
    }

    public static InetSocketAddress getsockname(int fd) throws NativeException {
        return nameOf(fd, GETSOCKNAME, "getsockname");
    }

    public static InetSocketAddress getpeername(int fd) throws NativeException {
        return nameOf(fd, GETPEERNAME, "getpeername");
    }

    private static InetSocketAddress nameOf(int fd, MethodHandle handle, String call) throws NativeException {
        Scratch s = scratch();
        s.len.set(JAVA_INT, 0, (int) s.addr.byteSize());
        int r;
        try {
            r = (int) handle.invokeExact(s.errno, fd, s.addr, s.len);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error(call, s);
        return SocketAddresses.decode(s.addr, s.len.get(JAVA_INT, 0));
    }

    /** An ioctl whose argument is an int the kernel fills in (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD). */
    public static int ioctlInt(int fd, long request) throws NativeException {
        Scratch s = scratch();
        int r;
        try {
            r = (int) IOCTL.invokeExact(s.errno, fd, request, s.len);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("ioctl(0x" + Long.toHexString(request) + ")", s);
        return s.len.get(JAVA_INT, 0);
    }

    /**
     * Sends up to {@code length} bytes; returns how many the kernel took. With {@code MSG_DONTWAIT} the
     * call cannot block, so it reads the array in place; otherwise it goes through scratch memory.
     * Returns -1 for EAGAIN on a non-blocking send.
     */
    public static int send(int fd, byte[] data, int offset, int length, int flags) throws NativeException {
        Scratch s = scratch();
        boolean nonBlocking = (flags & MSG_DONTWAIT) != 0;
        while (true) {
            long r;
            try {
                if (nonBlocking) {
                    r = (long) SEND_HEAP.invokeExact(s.errno, fd, MemorySegment.ofArray(data).asSlice(offset, length),
                            (long) length, flags | MSG_NOSIGNAL);
                } else {
                    int chunk = Math.min(length, SCRATCH_IO);
                    MemorySegment.copy(data, offset, s.io, JAVA_BYTE, 0, chunk);
                    r = (long) SEND.invokeExact(s.errno, fd, s.io, (long) chunk, flags | MSG_NOSIGNAL);
                }
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r >= 0) return (int) r;
            int e = s.errno();
            if (e == Errno.EAGAIN && nonBlocking) return -1;
            if (e != Errno.EINTR) throw error("send", s);
        }
    }

    /** Sends every byte, blocking as needed. */
    public static void sendFully(int fd, byte[] data, int offset, int length) throws NativeException {
        int done = 0;
        while (done < length) {
            done += send(fd, data, offset + done, length - done, 0);
        }
    }

    /**
     * Receives up to {@code length} bytes; returns the count, 0 at end of stream, or -1 for EAGAIN on a
     * non-blocking receive. Non-blocking receives write straight into the array.
     */
    public static int recv(int fd, byte[] data, int offset, int length, int flags) throws NativeException {
        Scratch s = scratch();
        boolean nonBlocking = (flags & MSG_DONTWAIT) != 0;
        while (true) {
            long r;
            int chunk = nonBlocking ? length : Math.min(length, SCRATCH_IO);
            try {
                if (nonBlocking) {
                    r = (long) RECV_HEAP.invokeExact(s.errno, fd, MemorySegment.ofArray(data).asSlice(offset, length),
                            (long) length, flags);
                } else {
                    r = (long) RECV.invokeExact(s.errno, fd, s.io, (long) chunk, flags);
                }
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r >= 0) {
                if (!nonBlocking && r > 0) MemorySegment.copy(s.io, JAVA_BYTE, 0, data, offset, (int) r);
                return (int) r;
            }
            int e = s.errno();
            if (e == Errno.EAGAIN && nonBlocking) return -1;
            if (e != Errno.EINTR) throw error("recv", s);
        }
    }

    /** Waits for {@code events} on one fd; returns the revents, 0 on timeout. */
    public static int poll(int fd, short events, int timeoutMillis) throws NativeException {
        Scratch s = scratch();
        s.pollfd.set(JAVA_INT, 0, fd);
        s.pollfd.set(JAVA_SHORT, 4, events);
        s.pollfd.set(JAVA_SHORT, 6, (short) 0);
        while (true) {
            int r;
            try {
                r = (int) POLL.invokeExact(s.errno, s.pollfd, 1L, timeoutMillis);
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r >= 0) return r == 0 ? 0 : s.pollfd.get(JAVA_SHORT, 6);
            if (s.errno() != Errno.EINTR) throw error("poll", s);
        }
    }

    public static int open(String path, int flags) throws NativeException {
        Scratch s = scratch();
        try (Arena arena = Arena.ofConfined()) {
            int r;
            try {
                r = (int) OPEN.invokeExact(s.errno, arena.allocateFrom(path), flags);
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r < 0) throw error("open(" + path + ")", s);
            return r;
        }
    }

    /** Moves the calling thread (only it) into the namespace behind {@code fd}. */
    public static void setns(int fd, int nstype) throws NativeException {
        Scratch s = scratch();
        int r;
        try {
            r = (int) SETNS.invokeExact(s.errno, fd, nstype);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error("setns", s);
    }

    /** The index of a network interface in the calling thread's namespace. */
    public static int ifNameToIndex(String name) throws NativeException {
        Scratch s = scratch();
        try (Arena arena = Arena.ofConfined()) {
            int r;
            try {
                r = (int) IF_NAMETOINDEX.invokeExact(s.errno, arena.allocateFrom(name));
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r == 0) throw error("if_nametoindex(" + name + ")", s);
            return r;
        }
    }
}
