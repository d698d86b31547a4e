package io.socketlauncher.server.channel;

import io.socketlauncher.server.Connection;
import io.socketlauncher.sys.BufferIo;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ScatteringByteChannel;
import java.time.Duration;
import java.util.Objects;

/**
 * The NIO-style adapter: a {@link Connection} as a {@link ByteChannel} with scattering reads and gathering writes,
 * blocking or not, like a {@link java.nio.channels.SocketChannel}. Bytes go straight between the socket and the
 * buffers, heap or direct, without a copy.
 *
 * <p>Readiness is poll-based: a JDK {@link java.nio.channels.Selector} takes only the JDK's own channels, so a
 * non-blocking caller waits with {@link #awaitReadable}/{@link #awaitWritable}, or watches {@link #fd()} in its own
 * epoll set ({@link io.socketlauncher.sys.Epoll}); for many connections per thread, the Netty adapter or the
 * policy agent's parking ({@link io.socketlauncher.server.policy.PolicyAgent#park}) do the waiting. In blocking
 * mode a read or write waits in {@code poll(2)}, which holds the carrier thread of a virtual thread.
 *
 * <p>The channel follows its connection: while {@link io.socketlauncher.server.LauncherServer#transfer} runs no
 * thread may use it, and after a successful transfer every call fails (the connection lives on the peer). After a
 * rollback it works on, even if the rollback had to recreate the socket.
 */
public final class ConnectionChannel implements ByteChannel, ScatteringByteChannel, GatheringByteChannel {
    private final Connection connection;
    private volatile boolean blocking = true;

    private ConnectionChannel(Connection connection) {
        this.connection = connection;
    }

    /** A channel over the connection, in blocking mode. */
    public static ConnectionChannel of(Connection connection) {
        return new ConnectionChannel(Objects.requireNonNull(connection, "connection"));
    }

    public Connection connection() {
        return connection;
    }

    /** The socket's file descriptor now (-1 once closed or moved). */
    public int fd() {
        return connection.fd();
    }

    public ConnectionChannel configureBlocking(boolean block) {
        this.blocking = block;
        return this;
    }

    public boolean isBlocking() {
        return blocking;
    }

    @Override
    public boolean isOpen() {
        return connection.isOpen();
    }

    private int liveFd() throws IOException {
        int fd = connection.fd();
        if (connection.movedTo().isPresent()) throw new IOException(connection + " moved");
        if (fd < 0 || !connection.isOpen()) throw new ClosedChannelException();
        return fd;
    }

    /** Bytes read; -1 at the end of the stream; 0 in non-blocking mode when nothing is there (or no room). */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        return read(dst, blocking);
    }

    private int read(ByteBuffer dst, boolean block) throws IOException {
        if (dst.isReadOnly()) throw new IllegalArgumentException("read-only buffer");
        if (!dst.hasRemaining()) return 0;
        while (true) {
            int fd = liveFd();
            int n = BufferIo.recv(fd, dst);
            if (n > 0) return n;
            if (n == 0) return -1;
            if (!block) return 0;
            Libc.poll(fd, Libc.POLLIN, -1);
        }
    }

    /** Fills the buffers in order; stops at the first one a read leaves short. */
    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dsts.length);
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            ByteBuffer b = dsts[i];
            if (!b.hasRemaining()) continue;
            int wanted = b.remaining();
            // Once something arrived, never wait for more: a blocking scatter returns what is there.
            int n = read(b, blocking && total == 0);
            if (n < 0) return total == 0 ? -1 : total;
            total += n;
            if (n < wanted) break;
        }
        return total;
    }

    @Override
    public long read(ByteBuffer[] dsts) throws IOException {
        return read(dsts, 0, dsts.length);
    }

    /** Bytes written: all of them in blocking mode, what the socket takes now (maybe 0) in non-blocking mode. */
    @Override
    public int write(ByteBuffer src) throws IOException {
        int total = 0;
        while (src.hasRemaining()) {
            int fd = liveFd();
            int n = BufferIo.send(fd, src);
            total += n;
            if (n == 0) {
                if (!blocking) break;
                Libc.poll(fd, Libc.POLLOUT, -1);
            }
        }
        return total;
    }

    /** Writes the buffers in order; in non-blocking mode stops where the socket stops taking bytes. */
    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            ByteBuffer b = srcs[i];
            int wanted = b.remaining();
            int n = write(b);
            total += n;
            if (n < wanted) break;
        }
        return total;
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    /** Waits until a read would not block (data, end of stream or an error); false after {@code timeout}. */
    public boolean awaitReadable(Duration timeout) throws IOException {
        return await(Libc.POLLIN, timeout);
    }

    /** Waits until a write would take bytes; false after {@code timeout}. */
    public boolean awaitWritable(Duration timeout) throws IOException {
        return await(Libc.POLLOUT, timeout);
    }

    private boolean await(short events, Duration timeout) throws NativeException, IOException {
        int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(0, timeout.toMillis()));
        return Libc.poll(liveFd(), events, millis) != 0;
    }

    /** Sends FIN; reading goes on. */
    public void shutdownOutput() throws IOException {
        Libc.shutdown(liveFd(), Libc.SHUT_WR);
    }

    public void shutdownInput() throws IOException {
        Libc.shutdown(liveFd(), Libc.SHUT_RD);
    }

    /**
     * Closes the connection. The socket is shut down first, so that a thread waiting in a blocking read or write
     * on this channel wakes up (closing an fd alone does not end another thread's poll).
     */
    @Override
    public void close() {
        int fd = connection.fd();
        if (fd >= 0 && connection.isOpen()) {
            try {
                Libc.shutdown(fd, Libc.SHUT_RDWR);
            } catch (NativeException ignored) {
                // not connected any more: closing is all that is left
            }
        }
        connection.close();
    }
}
