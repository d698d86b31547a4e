package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * An epoll instance: one thread waits for readiness of many sockets. Each registration carries a 64-bit token the
 * caller chooses; {@link #await} hands back the tokens and events of the ready ones. {@code epoll_ctl} may be
 * called from any thread while another waits (the kernel serialises them); {@link #await} belongs to one thread.
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10, EPOLLRDHUP = 0x2000;
    public static final int EPOLLONESHOT = 1 << 30;
    private static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3, EPOLL_CLOEXEC = 0x80000;
    /** struct epoll_event is packed on x86_64: u32 events, u64 data. */
    private static final int EVENT_BYTES = 12;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle CREATE = call("epoll_create1", JAVA_INT, JAVA_INT);
    private static final MethodHandle CTL = call("epoll_ctl", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS);
    private static final MethodHandle WAIT = call("epoll_wait", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);

    private final int fd;
    private final int capacity;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment events;

    private Epoll(int fd, int capacity) {
        this.fd = fd;
        this.capacity = capacity;
        this.events = arena.allocate((long) EVENT_BYTES * capacity, 8);
    }

    /** A new instance whose {@link #await} reports at most {@code capacity} sockets per call. */
    public static Epoll create(int capacity) throws NativeException {
        if (capacity < 1) throw new IllegalArgumentException("epoll capacity must be positive: " + capacity);
        Libc.Scratch s = Libc.scratch();
        int r;
        try {
            r = (int) CREATE.invokeExact(s.errno, EPOLL_CLOEXEC);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error("epoll_create1", s);
        return new Epoll(r, capacity);
    }

    public void add(int socket, int interest, long token) throws NativeException {
        ctl(EPOLL_CTL_ADD, "epoll_ctl(ADD)", socket, interest, token);
    }

    /** Changes the interest (and re-arms a one-shot registration). */
    public void modify(int socket, int interest, long token) throws NativeException {
        ctl(EPOLL_CTL_MOD, "epoll_ctl(MOD)", socket, interest, token);
    }

    public void delete(int socket) throws NativeException {
        ctl(EPOLL_CTL_DEL, "epoll_ctl(DEL)", socket, 0, 0);
    }

    private void ctl(int op, String call, int socket, int interest, long token) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        s.addr.set(JAVA_INT_UNALIGNED, 0, interest);
        s.addr.set(JAVA_LONG_UNALIGNED, 4, token);
        int r;
        try {
            r = (int) CTL.invokeExact(s.errno, fd, op, socket, s.addr);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error(call, s);
    }

    /**
     * Waits up to {@code timeoutMillis} (-1: for ever) for ready sockets; fills {@code tokens} and {@code ready}
     * (at least the capacity long) and returns how many. An interrupted wait (EINTR) returns 0.
     */
    public int await(int timeoutMillis, long[] tokens, int[] ready) throws NativeException {
        if (tokens.length < capacity || ready.length < capacity) {
            throw new IllegalArgumentException("arrays shorter than the capacity " + capacity);
        }
        Libc.Scratch s = Libc.scratch();
        int n;
        try {
            n = (int) WAIT.invokeExact(s.errno, fd, events, capacity, timeoutMillis);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (n < 0) {
            if (s.errno() == Errno.EINTR) return 0;
            throw Libc.error("epoll_wait", s);
        }
        for (int i = 0; i < n; i++) {
            ready[i] = events.get(JAVA_INT_UNALIGNED, (long) i * EVENT_BYTES);
            tokens[i] = events.get(JAVA_LONG_UNALIGNED, (long) i * EVENT_BYTES + 4);
        }
        return n;
    }

    /** Closes the instance; the caller makes sure no thread is still in {@link #await}. */
    @Override
    public void close() {
        Libc.closeQuietly(fd);
        arena.close();
    }

    private static MethodHandle call(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"));
    }
}
