package io.socketlauncher.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.cluster.Cluster;
import io.socketlauncher.demo.resp.Keyspace;
import io.socketlauncher.demo.resp.MigrationStats;
import io.socketlauncher.demo.resp.MovePolicy;
import io.socketlauncher.demo.resp.RespServer;
import io.socketlauncher.testbed.TcpCounters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The RESP server on both servers of a cluster, every connection moving to the other server after every 3
 * requests: redis-benchmark through the VIP sees no error, and one connection's selected database and
 * half-read requests survive its moves.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class RespMigrationTest {
    private static final int MOVE_EVERY = 3;

    private Cluster cluster;
    private final MigrationStats stats = new MigrationStats();
    private final List<RespServer> servers = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        cluster = Cluster.builder().clients(1).servers(2).build();
        Keyspace keyspace = new Keyspace();
        RespServer.Settings settings = new RespServer.Settings(MovePolicy.everyRequests(MOVE_EVERY), Duration.ZERO, 1_000_000);
        for (int i = 1; i <= 2; i++) servers.add(new RespServer(cluster.server(i), keyspace, settings, stats));
    }

    @AfterAll
    void stop() throws Exception {
        for (RespServer s : servers) s.close();
        if (cluster != null) cluster.close();
    }

    @Test
    void redisBenchmarkSeesNoErrorWhileItsConnectionsMoveEveryFewRequests() throws Exception {
        TcpCounters before = TcpCounters.of(cluster.client(1));
        long migrationsBefore = stats.migrations();
        List<RedisBenchmark.Result> runs = new ArrayList<>();
        for (int pipeline : new int[] {1, 8}) {
            runs.add(new RedisBenchmark().run(cluster.client(1), cluster.service(), 20, 2_000, pipeline, 240));
        }
        long moved = stats.migrations() - migrationsBefore;
        System.out.printf("redis-benchmark: %s; %s%nmigrations %d (rolled back %d, lost %d), latency p50 %d us, p99 %d us; client %s%n",
                runs.get(0).rps(), runs.get(1).rps(), moved, stats.rollbacks(), stats.lost(),
                stats.latencyMicros().getValueAtPercentile(50), stats.latencyMicros().getValueAtPercentile(99),
                TcpCounters.of(cluster.client(1)).describe(before, "EstabResets", "AttemptFails", "RetransSegs"));
        for (RedisBenchmark.Result r : runs) {
            assertThat(r.errors()).as("redis-benchmark's errors").isEmpty();
            assertThat(r.exitCode()).isZero();
            assertThat(r.rps()).containsOnlyKeys("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR");
        }
        // 2 runs x 5 tests x 2,000 requests, a move every 3 requests of a connection (a pipelined batch counts whole).
        assertThat(moved).as("migrations").isGreaterThan(500);
        assertThat(stats.lost()).isZero();
        assertThat(stats.protocolErrors()).isZero();
        TcpCounters after = TcpCounters.of(cluster.client(1));
        assertThat(after.since(before, "EstabResets") + after.since(before, "AttemptFails")).as("client resets").isZero();
    }

    @Test
    void theSelectedDatabaseAndHalfReadRequestsTravelWithTheConnection() throws Exception {
        InetSocketAddress vip = cluster.service();
        try (Socket socket = cluster.client(1).namespace().call(() -> new Socket(vip.getAddress(), vip.getPort()))) {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(60_000);
            Resp resp = new Resp(socket);
            InetSocketAddress me = (InetSocketAddress) socket.getLocalSocketAddress();
            assertThat(resp.call("SET", "k", "in db 0")).isEqualTo("+OK");
            assertThat(resp.call("SELECT", "3")).isEqualTo("+OK");
            assertThat(resp.call("SET", "k", "in db 3")).isEqualTo("+OK");
            for (int i = 0; i < 3_000 && stats.migrationsOf(me) < 10; i++) assertThat(resp.call("PING")).isEqualTo("+PONG");
            assertThat(stats.migrationsOf(me)).as("moves of this connection").isGreaterThanOrEqualTo(10);
            assertThat(resp.call("GET", "k")).as("db 3 after the moves").isEqualTo("$in db 3");

            // Three whole requests and the start of a fourth in one segment: the server answers three, moves, and
            // the fourth's first bytes travel in the session state to meet the rest at the other server.
            long withPendingBefore = stats.migrationsWithPendingBytes();
            for (int i = 0; i < 5; i++) {
                resp.write("PING\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$4\r\nhal");
                for (int k = 0; k < 3; k++) assertThat(resp.read()).isEqualTo("+PONG");
                Thread.sleep(50);
                resp.write("f\r\n");
                assertThat(resp.read()).isEqualTo("$half");
            }
            assertThat(stats.migrationsWithPendingBytes() - withPendingBefore).as("moves that carried a half-read request").isPositive();

            // A pipelined burst: replies in order, across the moves it triggers.
            StringBuilder burst = new StringBuilder();
            for (int i = 0; i < 50; i++) burst.append("*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n");
            resp.write(burst.toString());
            for (int i = 1; i <= 50; i++) assertThat(resp.read()).isEqualTo(":" + i);

            int moves = stats.migrationsOf(me);
            assertThat(resp.call("GET", "k")).isEqualTo("$in db 3");
            assertThat(resp.call("SELECT", "0")).isEqualTo("+OK");
            assertThat(resp.call("GET", "k")).isEqualTo("$in db 0");
            assertThat(resp.call("GET", "counter")).as("INCR ran in db 3").isEqualTo("$-1");
            System.out.printf("connection %s moved %d times%n", me, moves);
            assertThat(resp.call("QUIT")).isEqualTo("+OK");
        }
    }

    @Test
    void garbageThroughTheVipGetsRedisProtocolErrorAndAClose() throws Exception {
        InetSocketAddress vip = cluster.service();
        String[][] cases = {
                {"*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'"},
                {"*1\r\n$" + (1 << 20 | 1) + "\r\n", "-ERR Protocol error: invalid bulk length"},
                {"*9999999\r\n", "-ERR Protocol error: invalid multibulk length"},
                {"PING\r\nSET \"k\r\n", "-ERR Protocol error: unbalanced quotes in request"},
        };
        for (String[] c : cases) {
            try (Socket socket = cluster.client(1).namespace().call(() -> new Socket(vip.getAddress(), vip.getPort()))) {
                socket.setSoTimeout(30_000);
                Resp resp = new Resp(socket);
                resp.write(c[0]);
                if (c[0].startsWith("PING")) assertThat(resp.read()).as("the request before the garbage is served").isEqualTo("+PONG");
                assertThat(resp.read()).isEqualTo(c[1]);
                assertThat(socket.getInputStream().read()).as("closed after the error").isEqualTo(-1);
            }
        }
    }

    /** A minimal RESP client: requests as arrays of bulk strings, replies read as "+OK", "$value", "$-1", ":1", "-ERR ...". */
    private record Resp(Socket socket, InputStream in, OutputStream out) {
        Resp(Socket socket) throws IOException {
            this(socket, socket.getInputStream(), socket.getOutputStream());
        }

        String call(String... args) throws IOException {
            StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
            for (String a : args) b.append('$').append(a.length()).append("\r\n").append(a).append("\r\n");
            write(b.toString());
            return read();
        }

        void write(String raw) throws IOException {
            out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        String read() throws IOException {
            String line = line();
            if (line.startsWith("$") && !line.equals("$-1")) {
                int n = Integer.parseInt(line.substring(1));
                byte[] data = in.readNBytes(n + 2);
                return "$" + new String(data, 0, n, StandardCharsets.ISO_8859_1);
            }
            return line;
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) throw new IOException("the server closed the connection");
                if (c != '\r') b.write(c);
            }
            return b.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
