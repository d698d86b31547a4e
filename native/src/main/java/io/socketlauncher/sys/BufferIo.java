package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;

/**
 * Non-blocking {@code recv}/{@code send} straight into and out of a {@link ByteBuffer}, heap or direct, without a
 * copy: the calls never block (MSG_DONTWAIT is always set), so they may touch the Java heap. The buffer's position
 * moves by the bytes transferred, as a channel's would.
 */
public final class BufferIo {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SEND = critical("send", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    private static final MethodHandle RECV = critical("recv", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);

    private BufferIo() {}

    /** Reads what is there into {@code dst}: the count, 0 at end of stream, -1 if nothing is there now. */
    public static int recv(int fd, ByteBuffer dst) throws NativeException {
        if (dst.isReadOnly()) throw new IllegalArgumentException("cannot receive into a read-only buffer");
        if (!dst.hasRemaining()) return 0;
        MemorySegment target = MemorySegment.ofBuffer(dst);
        Libc.Scratch s = Libc.scratch();
        while (true) {
            long n;
            try {
                n = (long) RECV.invokeExact(s.errno, fd, target, target.byteSize(), Libc.MSG_DONTWAIT);
            } catch (Throwable t) {
                throw Libc.linkageFailure(t);
            }
            if (n >= 0) {
                dst.position(dst.position() + (int) n);
                return (int) n;
            }
            int e = s.errno();
            if (e == Errno.EAGAIN) return -1;
            if (e != Errno.EINTR) throw Libc.error("recv", s);
        }
    }

    /** Sends what the socket takes now from {@code src}: the count, 0 if it takes nothing now. */
    public static int send(int fd, ByteBuffer src) throws NativeException {
        if (!src.hasRemaining()) return 0;
        MemorySegment source = MemorySegment.ofBuffer(src);
        Libc.Scratch s = Libc.scratch();
        while (true) {
            long n;
            try {
                n = (long) SEND.invokeExact(s.errno, fd, source, source.byteSize(), Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL);
            } catch (Throwable t) {
                throw Libc.linkageFailure(t);
            }
            if (n >= 0) {
                src.position(src.position() + (int) n);
                return (int) n;
            }
            int e = s.errno();
            if (e == Errno.EAGAIN) return 0;
            if (e != Errno.EINTR) throw Libc.error("send", s);
        }
    }

    private static MethodHandle critical(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"), Linker.Option.critical(true));
    }
}
