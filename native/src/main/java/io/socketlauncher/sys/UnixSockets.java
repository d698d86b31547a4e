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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Unix-domain stream sockets by path, and passing file descriptors over them ({@code SCM_RIGHTS}): how
 * an unprivileged process hands its TCP sockets to a privileged helper and gets new ones back.
 */
public final class UnixSockets {
    private static final int SUN_PATH = 108, SOCKADDR_UN = 110;
    private static final int SCM_RIGHTS = 1, SO_PEERCRED = 17;
    private static final int MSG_CTRUNC = 0x8, MSG_CMSG_CLOEXEC = 0x40000000, EMSGSIZE = 90;
    /** struct msghdr and struct cmsghdr on LP64 Linux. */
    private static final int MSGHDR = 56, CMSG_HEADER = 16;
    /** Room for a few descriptors, so that a peer sending more than one is noticed and its extras closed. */
    private static final int MAX_FDS = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SENDMSG = call("sendmsg", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle RECVMSG = call("recvmsg", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle BIND = call("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle CONNECT = call("connect", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);

    private UnixSockets() {}

    private static MethodHandle call(String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(result, args),
                Linker.Option.captureCallState("errno"));
    }

    /** The credentials of the process at the other end, as the kernel recorded them at connect. */
    public record PeerCredentials(int pid, int uid, int gid) {
    }

    /** A blocking, close-on-exec unix stream socket. */
    public static int socket() throws NativeException {
        return Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
    }

    public static void bind(int fd, String path) throws NativeException {
        addressCall(BIND, fd, path, "bind");
    }

    public static void connect(int fd, String path) throws NativeException {
        addressCall(CONNECT, fd, path, "connect");
    }

    private static void addressCall(MethodHandle handle, int fd, String path, String call) throws NativeException {
        byte[] raw = path.getBytes(StandardCharsets.UTF_8);
        if (raw.length == 0 || raw.length >= SUN_PATH) {
            throw new IllegalArgumentException("unix socket path must be 1.." + (SUN_PATH - 1) + " bytes: " + path);
        }
        Libc.Scratch s = Libc.scratch();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SOCKADDR_UN, 8);
            address.set(JAVA_SHORT, 0, (short) Libc.AF_UNIX);
            MemorySegment.copy(raw, 0, address, JAVA_BYTE, 2, raw.length);
            int r;
            try {
                r = (int) handle.invokeExact(s.errno, fd, address, 2 + raw.length + 1);
            } catch (Throwable t) {
                throw Libc.linkageFailure(t);
            }
            if (r < 0) throw Libc.error(call + "(" + path + ")", s);
        }
    }

    public static PeerCredentials peerCredentials(int fd) throws NativeException {
        ByteBuffer b = ByteBuffer.wrap(Libc.getsockopt(fd, Libc.SOL_SOCKET, SO_PEERCRED, 12)).order(ByteOrder.nativeOrder());
        return new PeerCredentials(b.getInt(), b.getInt(), b.getInt());
    }

    /**
     * Sends {@code length} bytes in one call, with {@code passFd} attached unless it is negative; returns
     * the bytes sent (a stream socket may take fewer; the descriptor travels with the first of them).
     */
    public static int send(int fd, byte[] data, int offset, int length, int passFd) throws NativeException {
        Libc.Scratch s = Libc.scratch();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(Math.max(1, length), 8);
            MemorySegment.copy(data, offset, buffer, JAVA_BYTE, 0, length);
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(ADDRESS, 0, buffer);
            iov.set(JAVA_LONG, 8, length);
            MemorySegment msg = arena.allocate(MSGHDR, 8);
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1);
            if (passFd >= 0) {
                MemorySegment control = arena.allocate(CMSG_HEADER + 8, 8);
                control.set(JAVA_LONG, 0, CMSG_HEADER + 4);
                control.set(JAVA_INT, 8, Libc.SOL_SOCKET);
                control.set(JAVA_INT, 12, SCM_RIGHTS);
                control.set(JAVA_INT, CMSG_HEADER, passFd);
                msg.set(ADDRESS, 32, control);
                msg.set(JAVA_LONG, 40, control.byteSize());
            }
            while (true) {
                long r;
                try {
                    r = (long) SENDMSG.invokeExact(s.errno, fd, msg, Libc.MSG_NOSIGNAL);
                } catch (Throwable t) {
                    throw Libc.linkageFailure(t);
                }
                if (r >= 0) return (int) r;
                if (s.errno() != Errno.EINTR) throw Libc.error("sendmsg", s);
            }
        }
    }

    /**
     * Receives up to {@code length} bytes; returns the count (0 at end of stream). A descriptor that came
     * with them is stored in {@code receivedFd[0]} (close-on-exec), else -1 is; any further descriptors
     * are closed, and a control message the kernel had to truncate is an error (descriptors lost).
     */
    public static int receive(int fd, byte[] into, int offset, int length, int[] receivedFd) throws NativeException {
        receivedFd[0] = -1;
        Libc.Scratch s = Libc.scratch();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(Math.max(1, length), 8);
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(ADDRESS, 0, buffer);
            iov.set(JAVA_LONG, 8, length);
            MemorySegment control = arena.allocate(CMSG_HEADER + 4L * MAX_FDS, 8);
            MemorySegment msg = arena.allocate(MSGHDR, 8);
            msg.set(ADDRESS, 16, iov);
            msg.set(JAVA_LONG, 24, 1);
            msg.set(ADDRESS, 32, control);
            msg.set(JAVA_LONG, 40, control.byteSize());
            long r;
            while (true) {
                try {
                    r = (long) RECVMSG.invokeExact(s.errno, fd, msg, MSG_CMSG_CLOEXEC);
                } catch (Throwable t) {
                    throw Libc.linkageFailure(t);
                }
                if (r >= 0) break;
                if (s.errno() != Errno.EINTR) throw Libc.error("recvmsg", s);
            }
            long controlLength = msg.get(JAVA_LONG, 40);
            if (controlLength >= CMSG_HEADER && control.get(JAVA_INT, 8) == Libc.SOL_SOCKET && control.get(JAVA_INT, 12) == SCM_RIGHTS) {
                int count = (int) ((Math.min(control.get(JAVA_LONG, 0), control.byteSize()) - CMSG_HEADER) / 4);
                for (int i = 0; i < count; i++) {
                    int passed = control.get(JAVA_INT, CMSG_HEADER + 4L * i);
                    if (i == 0) receivedFd[0] = passed;
                    else Libc.closeQuietly(passed);
                }
            }
            if ((msg.get(JAVA_INT, 48) & MSG_CTRUNC) != 0) {
                Libc.closeQuietly(receivedFd[0]);
                receivedFd[0] = -1;
                throw new NativeException("recvmsg (control data truncated: more descriptors than expected)", EMSGSIZE);
            }
            MemorySegment.copy(buffer, JAVA_BYTE, 0, into, offset, (int) r);
            return (int) r;
        }
    }
}
