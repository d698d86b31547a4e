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
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * A layer-3 TUN device ({@code IFF_TUN | IFF_NO_PI}) and its non-blocking fd: every read returns one IP
 * packet the stack (or a BPF redirect) sent out of the device, every write injects one IP packet as if
 * the device had received it. The device lives in the network namespace of the thread that creates it
 * and disappears when the fd is closed.
 *
 * <p>With offloads on ({@link #VNET_HEADER} bytes of {@code struct virtio_net_hdr} before each packet),
 * the kernel neither segments large (GSO) packets nor completes partial checksums on their way out of
 * the device: a read returns a whole 64 KB burst as one packet, and writing it back, header included,
 * hands the stack the same burst. That cuts the syscalls per byte by the segment count.
 */
public final class Tun implements AutoCloseable {
    /** Length of the {@code struct virtio_net_hdr} that precedes each packet when offloads are on. */
    public static final int VNET_HEADER = 10;
    private static final int IFF_TUN = 0x0001, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000, IFF_UP = 0x1;
    private static final int TUN_F_CSUM = 0x01, TUN_F_TSO4 = 0x02, TUN_F_TSO6 = 0x04, TUN_F_TSO_ECN = 0x08;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    private static final long TUNSETIFF = 0x400454caL, SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914,
            SIOCSIFTXQLEN = 0x8943;
    private static final int O_RDWR = 2, O_NONBLOCK = 0x800;
    private static final int IFNAMSIZ = 16, IFREQ_SIZE = 40;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().find("ioctl").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle READ = critical("read", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle WRITE = critical("write", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);

    private final int fd;
    private final String name;
    private final boolean offloads;
    private boolean closed;

    private Tun(int fd, String name, boolean offloads) {
        this.fd = fd;
        this.name = name;
        this.offloads = offloads;
    }

    private static MethodHandle critical(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"), Linker.Option.critical(true));
    }

    /**
     * Creates the device {@code name} in the calling thread's namespace, brings it up and gives it a
     * transmit queue of {@code txQueueLength} packets: the packets waiting for {@link #read} live there,
     * so it bounds how far the reader may fall behind before the kernel drops. With {@code offloads},
     * packets carry a virtio_net_hdr (see the class comment).
     */
    public static Tun create(String name, int txQueueLength, boolean offloads) throws NativeException {
        byte[] raw = name.getBytes(StandardCharsets.US_ASCII);
        if (raw.length == 0 || raw.length >= IFNAMSIZ) throw new IllegalArgumentException("bad interface name '" + name + "'");
        int fd = Libc.open("/dev/net/tun", O_RDWR | O_NONBLOCK | Libc.O_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifreq = ifreq(arena, raw);
            ifreq.set(JAVA_SHORT, IFNAMSIZ, (short) (IFF_TUN | IFF_NO_PI | (offloads ? IFF_VNET_HDR : 0)));
            ioctl(fd, TUNSETIFF, ifreq, "ioctl(TUNSETIFF " + name + ")");
            if (offloads) {
                // The argument is the flag word itself, not a pointer to it.
                ioctl(fd, TUNSETOFFLOAD, MemorySegment.ofAddress(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN),
                        "ioctl(TUNSETOFFLOAD " + name + ")");
            }
            int control = Libc.socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
            try {
                ifreq = ifreq(arena, raw);
                ifreq.set(JAVA_INT, IFNAMSIZ, txQueueLength);
                ioctl(control, SIOCSIFTXQLEN, ifreq, "ioctl(SIOCSIFTXQLEN " + name + ")");
                ifreq = ifreq(arena, raw);
                ioctl(control, SIOCGIFFLAGS, ifreq, "ioctl(SIOCGIFFLAGS " + name + ")");
                ifreq.set(JAVA_SHORT, IFNAMSIZ, (short) (ifreq.get(JAVA_SHORT, IFNAMSIZ) | IFF_UP));
                ioctl(control, SIOCSIFFLAGS, ifreq, "ioctl(SIOCSIFFLAGS " + name + " up)");
            } finally {
                Libc.closeQuietly(control);
            }
            return new Tun(fd, name, offloads);
        } catch (NativeException | RuntimeException e) {
            Libc.closeQuietly(fd);
            throw e;
        }
    }

    private static MemorySegment ifreq(Arena arena, byte[] name) {
        MemorySegment ifreq = arena.allocate(IFREQ_SIZE, 8);
        MemorySegment.copy(name, 0, ifreq, JAVA_BYTE, 0, name.length);
        return ifreq;
    }

    private static void ioctl(int fd, long request, MemorySegment arg, String call) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        int r;
        try {
            r = (int) IOCTL.invokeExact(s.errno, fd, request, arg);
        } catch (Throwable t) {
            throw Libc.linkageFailure(t);
        }
        if (r < 0) throw Libc.error(call, s);
    }

    public String name() {
        return name;
    }

    /** Whether each packet read or written starts with a {@link #VNET_HEADER}-byte virtio_net_hdr. */
    public boolean offloads() {
        return offloads;
    }

    /** For {@link Libc#poll}. */
    public int fd() {
        return fd;
    }

    /**
     * Reads one packet into {@code into}; returns its length, or -1 if none is waiting. A packet longer
     * than the array is cut to it, so give it room for the largest packet the device may see.
     */
    public int read(byte[] into) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        while (true) {
            long r;
            try {
                r = (long) READ.invokeExact(s.errno, fd, MemorySegment.ofArray(into), (long) into.length);
            } catch (Throwable t) {
                throw Libc.linkageFailure(t);
            }
            if (r >= 0) return (int) r;
            int e = s.errno();
            if (e == Errno.EAGAIN) return -1;
            if (e != Errno.EINTR) throw Libc.error("read(" + name + ")", s);
        }
    }

    /** Injects one IP packet; the kernel runs it through its receive path before this returns. */
    public void write(byte[] packet, int offset, int length) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        while (true) {
            long r;
            try {
                r = (long) WRITE.invokeExact(s.errno, fd, MemorySegment.ofArray(packet).asSlice(offset, length), (long) length);
            } catch (Throwable t) {
                throw Libc.linkageFailure(t);
            }
            if (r >= 0) return;
            if (s.errno() != Errno.EINTR) throw Libc.error("write(" + name + ", " + length + " bytes)", s);
        }
    }

    /** Removes the device. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.closeQuietly(fd);
    }

    @Override
    public String toString() {
        return "TUN " + name;
    }
}
