package io.socketlauncher.bench.repair;

import io.socketlauncher.repair.TcpRepair;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.repair.TcpStateCodec;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * Latency of moving one TCP connection with {@link TcpRepair}: dump (capture in repair mode + encode to
 * the wire format), silent close, restore (decode + recreate), for small and 1 MB queues each way.
 *
 * <p>Where: a connection from c1 to s1 of the testbed; every move dumps the socket on s1, closes it and
 * restores it on s1 again (same namespace: the figures are those of the repair path, not of a network
 * hop). A per-flow drop rule on s1 for the whole run keeps the client's segments away, so the queues
 * stay exactly what the benchmark put in them, and every byte of both queues of every move is compared
 * with what was sent.
 */
public final class RepairBenchmark {
    private static final int SMALL = 1024, LARGE = 1 << 20;

    private RepairBenchmark() {}

    /** The result of one queue size. */
    record Series(int queueBytes, int moves, boolean verified, Histogram dump, Histogram close, Histogram restore,
                  Histogram total, int stateBytes) {}

    public static Map<String, Object> run(boolean quick) throws Exception {
        int warmup = quick ? 2000 : 5000;
        int smallMoves = quick ? 2000 : 10_000;
        int largeMoves = quick ? 1000 : 3000;
        try (Testbed testbed = Testbed.builder().clients(1).servers(1).build()) {
            Series small = measure(testbed, 7600, SMALL, warmup, smallMoves);
            Series large = measure(testbed, 7601, LARGE, 200, largeMoves);
            Map<String, Object> out = new LinkedHashMap<>();
            Map<String, Object> headline = new LinkedHashMap<>();
            boolean verified = small.verified() && large.verified();
            headline.put("verified", verified);
            headline.put("small_total_p50_us", micros(small.total().getValueAtPercentile(50)));
            headline.put("small_total_p99_us", micros(small.total().getValueAtPercentile(99)));
            headline.put("large_total_p50_us", micros(large.total().getValueAtPercentile(50)));
            out.put("headline", headline);
            out.put("benchmark", "repair");
            out.put("quick", quick);
            out.put("where", "connection c1 -> s1 on the testbed; each move dumps the socket on s1, closes it silently and "
                    + "restores it on s1 (same namespace); a per-flow drop rule on s1 holds the client's segments off for the run");
            out.put("dump_means", "TCP_REPAIR on + state, options, window, both queues peeked + encode to the wire format");
            out.put("restore_means", "decode from the wire format + new socket, repair restore of everything, repair off");
            out.put("total_means", "dump + silent close + restore");
            out.put("verified", verified);
            out.put("small", series(small));
            out.put("large", series(large));
            out.put("goal_small_total_p50_us", 30);
            return out;
        }
    }

    private static Map<String, Object> series(Series s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("queue_bytes_each_way", s.queueBytes());
        m.put("moves", s.moves());
        m.put("verified", s.verified());
        m.put("state_bytes", s.stateBytes());
        m.put("dump_us", percentiles(s.dump()));
        m.put("close_us", percentiles(s.close()));
        m.put("restore_us", percentiles(s.restore()));
        m.put("total_us", percentiles(s.total()));
        return m;
    }

    private static Map<String, Object> percentiles(Histogram h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("p50", micros(h.getValueAtPercentile(50)));
        m.put("p99", micros(h.getValueAtPercentile(99)));
        m.put("max", micros(h.getMaxValue()));
        return m;
    }

    private static double micros(long nanos) {
        return Math.round(nanos / 100.0) / 10.0;
    }

    private static Series measure(Testbed testbed, int port, int queueBytes, int warmup, int moves) throws Exception {
        Host client = testbed.client(1);
        Host server = testbed.server(1);
        InetSocketAddress service = new InetSocketAddress(server.address(), port);
        int listener = server.namespace().call(() -> {
            int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, 4 * queueBytes + 65536);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_SNDBUFFORCE, 4 * queueBytes + 65536);
            Libc.bind(fd, service);
            Libc.listen(fd, 1);
            return fd;
        });
        int clientFd = client.namespace().call(() -> {
            int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, 4 * queueBytes + 65536);
            Libc.connect(fd, service);
            return fd;
        });
        int serverFd = Libc.accept(listener, Libc.SOCK_CLOEXEC);
        Libc.close(listener);
        InetSocketAddress clientAddress = Libc.getsockname(clientFd);
        byte[] toServer = pattern(queueBytes, 1), toClient = pattern(queueBytes, 2);
        String[] rule = {"INPUT", "-p", "tcp", "-s", clientAddress.getAddress().getHostAddress(),
                "--sport", Integer.toString(clientAddress.getPort()), "--dport", Integer.toString(port), "-j", "DROP"};
        try {
            Libc.sendFully(clientFd, toServer, 0, toServer.length);
            awaitReceiveQueue(serverFd, queueBytes);
            server.iptables("-I", rule);
            try {
                // With the client's ACKs held off, these bytes stay in the send queue: a few segments sent, the rest unsent.
                Libc.sendFully(serverFd, toClient, 0, toClient.length);
                int[] fd = {serverFd};
                Series series = server.namespace().call(() -> loop(fd, queueBytes, warmup, moves, toServer, toClient));
                serverFd = fd[0];
                return series;
            } finally {
                server.iptables("-D", rule);
            }
        } finally {
            Libc.closeQuietly(clientFd);
            Libc.closeQuietly(serverFd);
        }
    }

    /** Runs on a thread inside the server's namespace, where the restored sockets must be created. */
    private static Series loop(int[] fd, int queueBytes, int warmup, int moves, byte[] expectReceive, byte[] expectSend)
            throws Exception {
        Histogram dump = new Histogram(3_600_000_000_000L, 3), close = new Histogram(3_600_000_000_000L, 3);
        Histogram restore = new Histogram(3_600_000_000_000L, 3), total = new Histogram(3_600_000_000_000L, 3);
        ByteBuffer wire = ByteBuffer.allocate(2 * queueBytes + 4096);
        boolean verified = true;
        int stateBytes = 0;
        for (int i = -warmup; i < moves; i++) {
            long t0 = System.nanoTime();
            TcpState captured = TcpRepair.capture(fd[0]);
            wire.clear();
            TcpStateCodec.encode(captured, wire);
            long t1 = System.nanoTime();
            Libc.close(fd[0]);
            long t2 = System.nanoTime();
            TcpState state = TcpStateCodec.decode(wire.array(), 0, wire.position());
            fd[0] = TcpRepair.restore(state, false);
            long t3 = System.nanoTime();
            boolean same = Arrays.equals(state.receiveQueue(), expectReceive) && Arrays.equals(state.sendQueue(), expectSend);
            verified &= same;
            if (!same) {
                throw new IllegalStateException("move " + i + ": queues differ from what was sent (receive "
                        + state.receiveQueue().length + ", send " + state.sendQueue().length + " bytes)");
            }
            stateBytes = wire.position();
            if (i >= 0) {
                dump.recordValue(t1 - t0);
                close.recordValue(t2 - t1);
                restore.recordValue(t3 - t2);
                total.recordValue(t3 - t0);
            }
        }
        return new Series(queueBytes, moves, verified && moves > 0, dump, close, restore, total, stateBytes);
    }

    private static void awaitReceiveQueue(int fd, int bytes) throws Exception {
        for (int i = 0; i < 1000 && Libc.ioctlInt(fd, Libc.SIOCINQ) < bytes; i++) Thread.sleep(5);
        int inq = Libc.ioctlInt(fd, Libc.SIOCINQ);
        if (inq != bytes) throw new IllegalStateException("server receive queue holds " + inq + " bytes, expected " + bytes);
    }

    private static byte[] pattern(int length, int salt) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            long x = (i + salt) * 0x9E3779B97F4A7C15L;
            b[i] = (byte) ((x ^ (x >>> 29)) >>> 32);
        }
        return b;
    }
}
