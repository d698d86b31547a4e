package io.socketlauncher.demo;

import io.socketlauncher.sys.Errno;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.TcpCounters;
import io.socketlauncher.testbed.Testbed;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The stage demo: a client on c1 streams numbered bytes to a server and checks the server's own
 * numbered stream, both ways at once, while the server's end of the connection moves s1 -> s2 -> s1 ...
 * The server application is one thread that owns its socket: it does its I/O between moves and hands
 * the socket (and its two byte counters) to the mover, then carries on with the restored socket.
 */
public final class LiveMoveDemo {
    /**
     * What to run: stops at {@code duration} or after {@code maxMoves} moves (0: no limit), whichever
     * first. A move waits for {@code pauseBetweenMoves} and for fresh client bytes since the last one.
     * {@code clientRtoMinMillis} (0: kernel default, 200 ms) lowers the client's retransmission timeout
     * on its route, so that its retransmissions after each move come sooner.
     */
    public record Settings(Duration duration, int maxMoves, Duration pauseBetweenMoves, long bytesPerSecond, int port,
                           int clientRtoMinMillis) {
        public Settings {
            if (duration.isNegative() || duration.isZero()) throw new IllegalArgumentException("duration must be positive");
            if (maxMoves < 0) throw new IllegalArgumentException("moves must be >= 0");
            if (bytesPerSecond <= 0) throw new IllegalArgumentException("rate must be positive");
        }
    }

    /** The outcome; {@link #passed()} when every byte checked out and the connection survived. */
    public record Report(int moves, long bytesCheckedClientToServer, long bytesCheckedServerToClient, long clientResets,
                         long clientRetransmissions, boolean connectionOpen, String failure, long maxDumpMicros,
                         long maxRestoreMicros) {
        public boolean passed() {
            return failure == null && connectionOpen && clientResets == 0;
        }

        public void printTable(PrintStream out) {
            out.println();
            out.println("+--------------------------------+-----------------+");
            row(out, "moves", Integer.toString(moves));
            row(out, "bytes checked client -> server", String.format("%,d", bytesCheckedClientToServer));
            row(out, "bytes checked server -> client", String.format("%,d", bytesCheckedServerToClient));
            row(out, "client resets", Long.toString(clientResets));
            row(out, "client retransmissions", Long.toString(clientRetransmissions));
            row(out, "connection open at the end", connectionOpen ? "yes" : "NO");
            row(out, "slowest dump / restore (us)", maxDumpMicros + " / " + maxRestoreMicros);
            out.println("+--------------------------------+-----------------+");
            out.println(passed() ? "PASS: every byte arrived, in order, both ways" : "FAIL: " + (failure != null ? failure : "see table"));
        }

        private static void row(PrintStream out, String name, String value) {
            out.printf("| %-30s | %15s |%n", name, value);
        }
    }

    private static final int CHUNK = 16 * 1024;

    private final Testbed testbed;
    private final Settings settings;
    private final PrintStream progress;
    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile boolean stopClient;
    private volatile long serverTotal = -1;

    public LiveMoveDemo(Testbed testbed, Settings settings, PrintStream progress) {
        this.testbed = testbed;
        this.settings = settings;
        this.progress = progress;
    }

    /** The server application's whole state besides its socket: how far each stream has got. */
    private static final class ServerStreams {
        long sent, received;

        byte[] encode() {
            return ByteBuffer.allocate(16).putLong(sent).putLong(received).array();
        }

        void decode(byte[] state) {
            ByteBuffer b = ByteBuffer.wrap(state);
            sent = b.getLong();
            received = b.getLong();
        }
    }

    public Report run() throws Exception {
        Host client = testbed.client(1);
        Host s1 = testbed.server(1), s2 = testbed.server(2);
        InetSocketAddress service = new InetSocketAddress(testbed.serviceAddress(), settings.port());
        try (FlowMover mover = new FlowMover(testbed)) {
            mover.routeTo(s1);
            if (settings.clientRtoMinMillis() > 0) {
                client.exec("ip", "route", "change", "default", "via", client.gateway().getHostAddress(),
                        "dev", client.linkToLb(), "rto_min", settings.clientRtoMinMillis() + "ms");
            }
            int listener = s1.namespace().call(() -> {
                int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1);
                Libc.bind(fd, service);
                Libc.listen(fd, 1);
                return fd;
            });
            int clientFd = client.namespace().call(() -> {
                int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                Libc.connect(fd, service);
                return fd;
            });
            int serverFd = Libc.accept(listener, Libc.SOCK_CLOEXEC);
            Libc.close(listener);
            InetSocketAddress clientAddress = Libc.getsockname(clientFd);
            TcpCounters before = TcpCounters.of(client);

            AtomicLong clientSent = new AtomicLong(), clientReceived = new AtomicLong();
            AtomicLong resets = new AtomicLong();
            Thread writer = Thread.ofPlatform().name("demo-client-writer").start(() -> clientWrites(clientFd, clientSent, resets));
            Thread reader = Thread.ofPlatform().name("demo-client-reader").start(() -> clientReads(clientFd, clientReceived, resets));

            ServerStreams app = new ServerStreams();
            Host at = s1;
            int moves = 0;
            long maxDump = 0, maxRestore = 0;
            long start = System.nanoTime(), end = start + settings.duration().toNanos();
            long nextMove = start + settings.pauseBetweenMoves().toNanos(), nextReport = start + 1_000_000_000L;
            FlowMover.Timings[] timings = new FlowMover.Timings[1];
            long receivedAtMove = 0;
            byte[] buffer = new byte[CHUNK];
            try {
                while (failure.get() == null && System.nanoTime() < end && (settings.maxMoves() == 0 || moves < settings.maxMoves())) {
                    serve(serverFd, app, buffer, start);
                    long now = System.nanoTime();
                    if (now >= nextMove && app.received > receivedAtMove) {
                        Host to = at == s1 ? s2 : s1;
                        FlowMover.Moved moved = mover.move(serverFd, app.encode(), clientAddress, service, at, to, timings);
                        serverFd = moved.fd();
                        app.decode(moved.applicationState());
                        at = to;
                        moves++;
                        maxDump = Math.max(maxDump, timings[0].dumpNanos() / 1000);
                        maxRestore = Math.max(maxRestore, timings[0].restoreNanos() / 1000);
                        nextMove = System.nanoTime() + settings.pauseBetweenMoves().toNanos();
                        receivedAtMove = app.received;
                    }
                    if (now >= nextReport) {
                        FlowMover.Timings t = timings[0];
                        progress.printf("%5.1f s  moves %4d  on %s  client->server %,14d B checked  server->client %,14d B checked%s%n",
                                (now - start) / 1e9, moves, at == s1 ? "s1" : "s2", app.received, clientReceived.get(),
                                t == null ? "" : String.format("  last move: dump %d us, restore %d us, flow held %d ms",
                                        t.dumpNanos() / 1000, t.restoreNanos() / 1000, t.heldNanos() / 1_000_000));
                        nextReport += 1_000_000_000L;
                    }
                }
                // Wind down: the client stops writing, each side checks the other's stream to its end.
                stopClient = true;
                writer.join();
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (failure.get() == null && app.received < clientSent.get() && System.nanoTime() < deadline) {
                    serve(serverFd, app, buffer, -1);
                }
                if (failure.get() == null && app.received != clientSent.get()) {
                    failure.compareAndSet(null, "server got " + app.received + " of " + clientSent.get() + " bytes");
                }
                serverTotal = app.sent;
                reader.join(30_000);
                if (reader.isAlive()) {
                    failure.compareAndSet(null, "client reader still waiting");
                }
                if (failure.get() == null && clientReceived.get() != serverTotal) {
                    failure.compareAndSet(null, "client got " + clientReceived.get() + " of " + serverTotal + " bytes");
                }
                boolean open = stillEstablished(clientFd) && stillEstablished(serverFd);
                TcpCounters after = TcpCounters.of(client);
                return new Report(moves, app.received, clientReceived.get(), Math.max(resets.get(), after.since(before, "EstabResets")),
                        after.since(before, "RetransSegs"), open, failure.get(), maxDump, maxRestore);
            } finally {
                stopClient = true;
                reader.interrupt();
                Libc.closeQuietly(clientFd);
                Libc.closeQuietly(serverFd);
                writer.join(5_000);
                reader.join(5_000);
            }
        }
    }

    /**
     * One round of the server application: read and check what is there, send the next part of its
     * stream (rate-limited while {@code start >= 0}; when winding down it only reads).
     */
    private void serve(int fd, ServerStreams app, byte[] buffer, long start) throws NativeException {
        Libc.poll(fd, (short) (Libc.POLLIN | (start >= 0 ? Libc.POLLOUT : 0)), 5);
        int n = Libc.recv(fd, buffer, 0, buffer.length, Libc.MSG_DONTWAIT);
        if (n == 0) {
            failure.compareAndSet(null, "server saw end of stream after " + app.received + " bytes");
            return;
        }
        if (n > 0) {
            long bad = NumberedStream.firstMismatch(buffer, n, app.received, NumberedStream.CLIENT_TO_SERVER);
            if (bad >= 0) failure.compareAndSet(null, "server: client->server byte " + bad + " is wrong");
            app.received += n;
        }
        if (start < 0) return;
        long allowed = (System.nanoTime() - start) / 1000 * settings.bytesPerSecond() / 1_000_000;
        int length = (int) Math.min(buffer.length, allowed - app.sent);
        if (length <= 0) return;
        NumberedStream.fill(buffer, length, app.sent, NumberedStream.SERVER_TO_CLIENT);
        int sent = Libc.send(fd, buffer, 0, length, Libc.MSG_DONTWAIT);
        if (sent > 0) app.sent += sent;
    }

    private void clientWrites(int fd, AtomicLong sent, AtomicLong resets) {
        byte[] buffer = new byte[CHUNK];
        long start = System.nanoTime();
        try {
            while (!stopClient && failure.get() == null) {
                long allowed = (System.nanoTime() - start) / 1000 * settings.bytesPerSecond() / 1_000_000;
                int length = (int) Math.min(buffer.length, allowed - sent.get());
                if (length <= 0) {
                    Thread.sleep(1);
                    continue;
                }
                Libc.poll(fd, Libc.POLLOUT, 5);
                NumberedStream.fill(buffer, length, sent.get(), NumberedStream.CLIENT_TO_SERVER);
                int n = Libc.send(fd, buffer, 0, length, Libc.MSG_DONTWAIT);
                if (n > 0) sent.addAndGet(n);
            }
        } catch (NativeException e) {
            if (e.is(Errno.ECONNRESET) || e.is(Errno.EPIPE)) resets.incrementAndGet();
            failure.compareAndSet(null, "client send: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void clientReads(int fd, AtomicLong received, AtomicLong resets) {
        byte[] buffer = new byte[CHUNK * 4];
        try {
            while (failure.get() == null && !Thread.currentThread().isInterrupted()) {
                if (Libc.poll(fd, Libc.POLLIN, 100) == 0) {
                    if (serverTotal >= 0 && received.get() >= serverTotal) return;
                    continue;
                }
                int n = Libc.recv(fd, buffer, 0, buffer.length, Libc.MSG_DONTWAIT);
                if (n == 0) {
                    failure.compareAndSet(null, "client saw end of stream after " + received.get() + " bytes");
                    return;
                }
                if (n < 0) continue;
                long bad = NumberedStream.firstMismatch(buffer, n, received.get(), NumberedStream.SERVER_TO_CLIENT);
                if (bad >= 0) failure.compareAndSet(null, "client: server->client byte " + bad + " is wrong");
                if (received.addAndGet(n) == serverTotal) return;
            }
        } catch (NativeException e) {
            if (e.is(Errno.ECONNRESET)) resets.incrementAndGet();
            failure.compareAndSet(null, "client receive: " + e.getMessage());
        }
    }

    private static boolean stillEstablished(int fd) throws NativeException {
        byte[] info = Libc.getsockopt(fd, Libc.SOL_TCP, Libc.TCP_INFO, 8);
        return (info[0] & 0xff) == 1 && Libc.getsockoptInt(fd, Libc.SOL_SOCKET, Libc.SO_ERROR) == 0;
    }
}
