package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.TcpCounters;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A half-closed connection migrates: one side has sent its FIN while the other still streams numbered bytes to
 * it. The connection moves while half-closed (the server's socket in CLOSE_WAIT, FIN_WAIT1 or FIN_WAIT2, with
 * bytes still queued where the case allows), the rest of the stream arrives byte-exact from the other server, and
 * the connection ends with FINs both ways: no reset in the client's namespace.
 */
class HalfClosedMigrationTest {
    private static final int TCP_ESTABLISHED = 1, TCP_FIN_WAIT1 = 4, TCP_FIN_WAIT2 = 5, TCP_CLOSE_WAIT = 8;
    private static final int CHUNK = 16 * 1024;
    private static final long SERVER_BYTES = 1 << 20, CLIENT_BYTES = 256 * 1024;

    enum HalfClose {
        /** The client shut its sending side down; the server streams on to it, half of its stream still to come. */
        CLIENT_SENT_FIN_SERVER_IN_CLOSE_WAIT(TCP_CLOSE_WAIT),
        /** The server sent its whole stream and its FIN, all acknowledged; the client streams on to it. */
        SERVER_SENT_FIN_ACKED_FIN_WAIT2(TCP_FIN_WAIT2),
        /** The server sent its whole stream and its FIN, but the client reads nothing: FIN and bytes still queued. */
        SERVER_SENT_FIN_UNACKED_FIN_WAIT1(TCP_FIN_WAIT1);

        final int serverState;

        HalfClose(int serverState) {
            this.serverState = serverState;
        }
    }

    /** One connection's streams as the servers see them, wherever it lives. */
    static final class Session {
        final HalfClose kind;
        volatile long allowedToSend;
        final long serverTotal;
        final AtomicReference<CompletableFuture<String>> move = new AtomicReference<>();
        final AtomicReference<String> failure = new AtomicReference<>();
        volatile String servedBy;
        volatile boolean clientEnded, finSent;
        volatile long received, sent;
        volatile int stateAtMove = -1, stateOnArrival = -1, currentState = -1;
        final CompletableFuture<Void> done = new CompletableFuture<>();

        Session(HalfClose kind, long allowedToSend, long serverTotal) {
            this.kind = kind;
            this.allowedToSend = allowedToSend;
            this.serverTotal = serverTotal;
        }
    }

    private static Cluster cluster;
    private static final Map<Integer, Session> sessions = new ConcurrentHashMap<>();
    private static Thread app1, app2;
    private static volatile boolean closing;

    @BeforeAll
    static void up() throws Exception {
        cluster = Cluster.builder().clients(1).servers(2).build();
        InetAddress client = cluster.client(1).address();
        app1 = Thread.ofPlatform().daemon().name("half-close-app-s1").start(() -> acceptLoop(cluster.server(1), client));
        app2 = Thread.ofPlatform().daemon().name("half-close-app-s2").start(() -> acceptLoop(cluster.server(2), client));
    }

    @AfterAll
    static void down() throws Exception {
        closing = true;
        try {
            if (app1 != null) app1.join(5_000);
            if (app2 != null) app2.join(5_000);
        } finally {
            if (cluster != null) cluster.close();
        }
    }

    private static void acceptLoop(LauncherServer server, InetAddress client) {
        while (!closing) {
            try {
                Connection c = server.accept(Duration.ofMillis(100));
                if (c == null) continue;
                Session s = null;
                for (int i = 0; i < 500 && s == null && c.client().getAddress().equals(client); i++) {
                    s = sessions.get(c.client().getPort());
                    if (s == null) Thread.sleep(10);
                }
                if (s == null) {
                    c.close(); // the proxy's health checks
                    continue;
                }
                Session session = s;
                Thread.ofPlatform().daemon().name("half-close-" + server.id()).start(() -> serve(server, c, session));
            } catch (Exception e) {
                if (!closing) System.err.println("accept on " + server.id() + ": " + e);
                return;
            }
        }
    }

    /**
     * Reads and checks the client's stream until its FIN; sends the server's stream up to what the test allows, and
     * its FIN after the last byte; moves the connection when asked. Where both streams stand travels with it.
     */
    private static void serve(LauncherServer server, Connection c, Session session) {
        try {
            byte[] state = c.applicationState();
            if (state.length == 18) {
                ByteBuffer b = ByteBuffer.wrap(state);
                session.received = b.getLong();
                session.sent = b.getLong();
                session.clientEnded = b.get() == 1;
                session.finSent = b.get() == 1;
                session.stateOnArrival = tcpState(c.fd());
            } else {
                // Room for the whole stream while the client reads nothing: the bytes wait in the send queue and
                // travel with the connection.
                Libc.setsockopt(c.fd(), Libc.SOL_SOCKET, Libc.SO_SNDBUF, 4 << 20);
            }
            session.servedBy = server.id();
            byte[] in = new byte[256 * 1024], out = new byte[CHUNK];
            while (!closing) {
                CompletableFuture<String> move = session.move.get();
                if (move != null && session.move.compareAndSet(move, null)) {
                    String to = server.id().equals("s1") ? "s2" : "s1";
                    c.applicationState(ByteBuffer.allocate(18).putLong(session.received).putLong(session.sent)
                            .put((byte) (session.clientEnded ? 1 : 0)).put((byte) (session.finSent ? 1 : 0)).array());
                    session.stateAtMove = tcpState(c.fd());
                    try {
                        TransferReport report = server.transfer(c, to).get(60, TimeUnit.SECONDS);
                        move.complete(report.peer());
                        return;
                    } catch (Exception e) {
                        move.completeExceptionally(e);
                    }
                }
                boolean wantSend = !session.finSent && session.sent < session.allowedToSend;
                int events = (session.clientEnded ? 0 : Libc.POLLIN) | (wantSend ? Libc.POLLOUT : 0);
                if (events == 0) {
                    Thread.sleep(1);
                } else {
                    Libc.poll(c.fd(), (short) events, 5);
                }
                if (!session.clientEnded) {
                    int n = Libc.recv(c.fd(), in, 0, in.length, Libc.MSG_DONTWAIT);
                    if (n == 0) {
                        session.clientEnded = true;
                    } else if (n > 0) {
                        long bad = NumberedStream.firstMismatch(in, n, session.received, NumberedStream.CLIENT_TO_SERVER);
                        if (bad >= 0) throw new IllegalStateException(server.id() + ": client byte " + bad + " differs");
                        session.received += n;
                    }
                }
                if (wantSend) {
                    int len = (int) Math.min(CHUNK, session.allowedToSend - session.sent);
                    NumberedStream.fill(out, len, session.sent, NumberedStream.SERVER_TO_CLIENT);
                    int k = Libc.send(c.fd(), out, 0, len, Libc.MSG_DONTWAIT);
                    if (k > 0) session.sent += k;
                }
                if (!session.finSent && session.sent == session.serverTotal) {
                    Libc.shutdown(c.fd(), Libc.SHUT_WR);
                    session.finSent = true;
                }
                session.currentState = tcpState(c.fd());
                if (session.clientEnded && session.finSent) {
                    c.close();
                    session.done.complete(null);
                    return;
                }
            }
        } catch (Exception e) {
            session.failure.compareAndSet(null, server.id() + ": " + e);
            session.done.completeExceptionally(e);
        }
    }

    private static int tcpState(int fd) throws Exception {
        return Libc.getsockopt(fd, Libc.SOL_TCP, Libc.TCP_INFO, 8)[0] & 0xff;
    }

    /** The client end: a reader that checks every byte of the server's stream and can be held back. */
    private static final class Client implements AutoCloseable {
        final int fd, port;
        volatile boolean reading;
        volatile long received;
        volatile boolean ended;
        final AtomicReference<String> failure = new AtomicReference<>();
        private final Thread reader;

        Client(boolean smallReceiveBuffer) throws Exception {
            fd = cluster.client(1).namespace().call(() -> {
                int s = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                // Small, so that the server's bytes pile up in its own send queue while the client reads nothing.
                if (smallReceiveBuffer) Libc.setsockopt(s, Libc.SOL_SOCKET, Libc.SO_RCVBUF, 32 * 1024);
                Libc.connect(s, cluster.service());
                return s;
            });
            port = Libc.getsockname(fd).getPort();
            reader = Thread.ofPlatform().daemon().name("half-close-client").start(this::read);
        }

        private void read() {
            byte[] buf = new byte[256 * 1024];
            try {
                while (true) {
                    if (!reading) {
                        Thread.sleep(1);
                        continue;
                    }
                    if ((Libc.poll(fd, Libc.POLLIN, 100) & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR)) == 0) continue;
                    int n = Libc.recv(fd, buf, 0, buf.length, Libc.MSG_DONTWAIT);
                    if (n == 0) {
                        ended = true;
                        return;
                    }
                    if (n < 0) continue;
                    long bad = NumberedStream.firstMismatch(buf, n, received, NumberedStream.SERVER_TO_CLIENT);
                    if (bad >= 0) throw new IllegalStateException("client: server byte " + bad + " differs");
                    received += n;
                }
            } catch (Exception e) {
                failure.compareAndSet(null, "client: " + e);
            }
        }

        void send(long offset, long length) throws Exception {
            NumberedStream.send(fd, offset, (int) length, NumberedStream.CLIENT_TO_SERVER);
        }

        @Override
        public void close() throws InterruptedException {
            Libc.closeQuietly(fd);
            reader.join(5_000);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(HalfClose.class)
    void aHalfClosedConnectionMigratesAndEndsCleanly(HalfClose kind) throws Exception {
        TcpCounters before = TcpCounters.of(cluster.client(1));
        boolean clientHalfCloses = kind == HalfClose.CLIENT_SENT_FIN_SERVER_IN_CLOSE_WAIT;
        long serverTotal = clientHalfCloses ? 2 * SERVER_BYTES : SERVER_BYTES;
        try (Client client = new Client(kind != HalfClose.SERVER_SENT_FIN_ACKED_FIN_WAIT2)) {
            Session session = new Session(kind, SERVER_BYTES, serverTotal);
            sessions.put(client.port, session);
            client.reading = kind == HalfClose.SERVER_SENT_FIN_ACKED_FIN_WAIT2;
            client.send(0, CLIENT_BYTES);
            if (clientHalfCloses) Libc.shutdown(client.fd, Libc.SHUT_WR);
            await("the half-close at the server", () -> session.failure.get() != null
                    || (clientHalfCloses ? session.clientEnded && session.sent == SERVER_BYTES
                    : session.finSent && session.received == CLIENT_BYTES) && stateIs(session, kind.serverState));
            assertThat(session.failure.get()).as("server-side failure").isNull();
            String from = session.servedBy;

            CompletableFuture<String> move = new CompletableFuture<>();
            session.move.set(move);
            String to = move.get(90, TimeUnit.SECONDS);
            await("the stream to go on at " + to, () -> to.equals(session.servedBy) || session.failure.get() != null);
            assertThat(to).isNotEqualTo(from);
            assertThat(session.stateAtMove).as("server's TCP state when it moved").isEqualTo(kind.serverState);
            // FIN_WAIT1 may turn FIN_WAIT2 once the client's ACK of the FIN gets through (it never does while the
            // client reads nothing and its window is shut; but be lenient to a window opening).
            assertThat(session.stateOnArrival).as("TCP state of the restored socket")
                    .isIn(kind.serverState, kind == HalfClose.SERVER_SENT_FIN_UNACKED_FIN_WAIT1 ? TCP_FIN_WAIT2 : kind.serverState);

            // The rest of both streams, from the new server.
            client.reading = true;
            long clientTotal = CLIENT_BYTES;
            if (!clientHalfCloses) {
                client.send(CLIENT_BYTES, CLIENT_BYTES);
                clientTotal += CLIENT_BYTES;
                Libc.shutdown(client.fd, Libc.SHUT_WR);
            } else {
                session.allowedToSend = serverTotal;
            }
            try {
                session.done.get(90, TimeUnit.SECONDS);
            } catch (Exception e) {
                fail("the server did not finish: " + session.failure.get(), e);
            }
            long expectedClientTotal = clientTotal;
            await("the client to read the server's FIN", () -> client.ended || client.failure.get() != null);
            assertThat(client.failure.get()).as("client-side failure").isNull();
            assertThat(session.failure.get()).as("server-side failure").isNull();
            assertThat(client.received).as("server bytes checked by the client").isEqualTo(serverTotal);
            assertThat(session.received).as("client bytes checked by the servers").isEqualTo(expectedClientTotal);
            TcpCounters after = TcpCounters.of(cluster.client(1));
            System.out.printf("%s: moved %s -> %s in TCP state %d, restored in %d; %d bytes to the client, %d from it, all checked; client %s%n",
                    kind, from, to, session.stateAtMove, session.stateOnArrival, client.received, session.received,
                    after.describe(before, "EstabResets", "RetransSegs", "InErrs"));
            assertThat(after.since(before, "EstabResets")).as("client connections reset").isZero();
            assertThat(after.since(before, "InErrs")).as("client segments in error").isZero();
        }
    }

    private static boolean stateIs(Session session, int state) {
        return session.currentState == state;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("not within 60 s: " + what);
            Thread.sleep(1);
        }
    }
}
