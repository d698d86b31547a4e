package io.socketlauncher.cluster;

import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.NumberedStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The application the tests run on each {@link LauncherServer}: for each client connection, it checks every byte
 * of the client's numbered stream and sends its own numbered stream, paced. Where both streams stand is the
 * connection's application state, so it carries on from the same positions after a transfer. When the test asks
 * for a move, the handler stops touching the socket, transfers it, and ends (or carries on if it stayed).
 */
final class StreamingApp implements AutoCloseable {
    static final int CHUNK = 8 * 1024;
    static final long SEND_PERIOD_NANOS = 1_000_000;

    private final LauncherServer server;
    private final InetAddress client;
    private final Map<Integer, StreamSession> sessions;
    private final Thread acceptor;
    private volatile boolean closed;

    StreamingApp(LauncherServer server, InetAddress client, Map<Integer, StreamSession> sessions) {
        this.server = server;
        this.client = client;
        this.sessions = sessions;
        this.acceptor = Thread.ofPlatform().daemon().name("app-accept-" + server.id()).start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Connection c = server.accept(Duration.ofMillis(100));
                if (c == null) continue;
                if (!c.client().getAddress().equals(client)) {
                    c.close(); // the proxy's health checks
                    continue;
                }
                StreamSession session = null;
                for (int i = 0; i < 500 && session == null; i++) {
                    session = sessions.get(c.client().getPort());
                    if (session == null) Thread.sleep(10);
                }
                if (session == null) {
                    c.close();
                    continue;
                }
                StreamSession s = session;
                Thread.ofPlatform().daemon().name("app-" + server.id() + "-" + c.client().getPort()).start(() -> serve(c, s));
            } catch (Exception e) {
                if (!closed) System.err.println("app accept on " + server.id() + ": " + e);
                return;
            }
        }
    }

    private void serve(Connection c, StreamSession session) {
        ByteBuffer state = ByteBuffer.wrap(c.applicationState().length == 16 ? c.applicationState() : new byte[16]);
        long received = state.getLong(0), sent = state.getLong(8);
        session.servedBy = server.id();
        byte[] in = new byte[256 * 1024];
        byte[] out = new byte[CHUNK];
        long nextSend = System.nanoTime();
        try {
            if (c.arrivedFrom().isEmpty()) Libc.setsockopt(c.fd(), Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
            while (!closed) {
                StreamSession.MoveRequest m = session.move.get();
                if (m != null && m.from().equals(server.id()) && session.move.compareAndSet(m, null)) {
                    c.applicationState(ByteBuffer.allocate(16).putLong(received).putLong(sent).array());
                    long start = System.nanoTime();
                    try {
                        TransferReport report = server.transfer(c, m.to()).get(60, TimeUnit.SECONDS);
                        long latency = System.nanoTime() - start;
                        session.holdMicros.recordValue(Math.max(1, report.holdNanos() / 1000));
                        session.record(report);
                        int index = ++session.migrations;
                        if (report.holdNanos() > 8_000_000) session.longHolds.add("#" + index + " " + report.holdNanos() / 1000 + "us");
                        m.done().complete(latency);
                        return;
                    } catch (ExecutionException e) {
                        m.done().completeExceptionally(e.getCause()); // it stayed here: carry on
                    }
                }
                long now = System.nanoTime();
                boolean sendDue = now >= nextSend;
                int fd = c.fd();
                Libc.poll(fd, (short) (Libc.POLLIN | (sendDue ? Libc.POLLOUT : 0)), 1);
                int n = Libc.recv(fd, in, 0, in.length, Libc.MSG_DONTWAIT);
                if (n == 0) {
                    session.finished(received, sent);
                    c.close();
                    return;
                }
                if (n > 0) {
                    long bad = NumberedStream.firstMismatch(in, n, received, NumberedStream.CLIENT_TO_SERVER);
                    if (bad >= 0) {
                        session.fail(server.id() + ": client byte " + bad + " differs");
                        return;
                    }
                    received += n;
                    session.progress = received;
                }
                if (sendDue) {
                    NumberedStream.fill(out, CHUNK, sent, NumberedStream.SERVER_TO_CLIENT);
                    int k = Libc.send(fd, out, 0, CHUNK, Libc.MSG_DONTWAIT);
                    if (k > 0) sent += k;
                    nextSend = Math.max(nextSend + SEND_PERIOD_NANOS, now - 100 * SEND_PERIOD_NANOS);
                }
            }
        } catch (NativeException | RuntimeException | InterruptedException | TimeoutException e) {
            session.fail(server.id() + ": " + e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        acceptor.join(5_000);
    }
}
