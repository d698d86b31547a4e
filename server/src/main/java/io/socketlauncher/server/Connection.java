package io.socketlauncher.server;

import io.socketlauncher.server.migration.MovableSocket;
import io.socketlauncher.sys.Libc;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One client connection, accepted here or arrived by transfer: the application can't tell them apart except by
 * asking {@link #arrivedFrom()}. The socket is a plain blocking TCP socket ({@link #fd()}), so any I/O style works
 * on it; {@link #inputStream()} and {@link #outputStream()} are the blocking-streams adapter.
 *
 * <p>The application state is a small blob (a selected database, a session) that travels with the connection.
 * Set it before a transfer; the target's application finds it in the connection it accepts.
 *
 * <p>During {@link LauncherServer#transfer} no thread may use the connection; after a successful one it is gone
 * from this server and every use fails.
 */
public final class Connection implements MovableSocket, AutoCloseable {
    private volatile int fd;
    private final InetSocketAddress client;
    private final InetSocketAddress local;
    private final String arrivedFrom;
    private volatile byte[] applicationState;
    private volatile String movedTo;
    private final AtomicBoolean moving = new AtomicBoolean();
    private volatile boolean closed;

    Connection(int fd, InetSocketAddress client, InetSocketAddress local, byte[] applicationState, String arrivedFrom) {
        this.fd = fd;
        this.client = client;
        this.local = local;
        this.applicationState = applicationState;
        this.arrivedFrom = arrivedFrom;
    }

    /** The socket's file descriptor; -1 once the connection was closed or moved away. */
    @Override
    public int fd() {
        return fd;
    }

    @Override
    public void replaceFd(int fd) {
        this.fd = fd;
    }

    /** The client's address (as this server sees it: with the proxy in NAT mode, the client itself). */
    public InetSocketAddress client() {
        return client;
    }

    public InetSocketAddress local() {
        return local;
    }

    /** The peer this connection came from, or empty if it was accepted here. */
    public Optional<String> arrivedFrom() {
        return Optional.ofNullable(arrivedFrom);
    }

    @Override
    public byte[] applicationState() {
        return applicationState.clone();
    }

    public void applicationState(byte[] state) {
        this.applicationState = state.clone();
    }

    /** The peer this connection moved to, if it did. */
    public Optional<String> movedTo() {
        return Optional.ofNullable(movedTo);
    }

    public boolean isOpen() {
        return !closed && movedTo == null;
    }

    boolean startMoving() {
        return isOpen() && moving.compareAndSet(false, true);
    }

    void moved(String peer) {
        movedTo = peer;
        fd = -1;
        moving.set(false);
    }

    void stayed() {
        moving.set(false);
    }

    int checkedFd() throws IOException {
        int f = fd;
        if (movedTo != null) throw new IOException("connection of " + client + " moved to " + movedTo);
        if (closed || f < 0) throw new IOException("connection of " + client + " is closed");
        return f;
    }

    /** Reads block until data, end of stream (-1) or an error. */
    public InputStream inputStream() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) return 0;
                int n = Libc.recv(checkedFd(), b, off, len, 0);
                return n == 0 ? -1 : n;
            }

            @Override
            public int available() throws IOException {
                return Libc.ioctlInt(checkedFd(), Libc.SIOCINQ);
            }
        };
    }

    /** Writes block until the kernel took every byte. Closing the stream shuts the sending direction down. */
    public OutputStream outputStream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                Libc.sendFully(checkedFd(), b, off, len);
            }

            @Override
            public void close() throws IOException {
                if (isOpen()) Libc.shutdown(checkedFd(), Libc.SHUT_WR);
            }
        };
    }

    /**
     * Marks the connection closed without closing its fd: for an adapter that gave the fd to a library which
     * closes it itself (a Netty channel owns the fd it adopted). Closing it here too could close an fd number the
     * process has reused meanwhile.
     */
    public void closedElsewhere() {
        closed = true;
        fd = -1;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        int f = fd;
        fd = -1;
        if (movedTo == null && f >= 0) Libc.closeQuietly(f);
    }

    @Override
    public String toString() {
        return "Connection[" + client + " -> " + local + (arrivedFrom != null ? " from " + arrivedFrom : "")
                + (movedTo != null ? " moved to " + movedTo : "") + "]";
    }
}
