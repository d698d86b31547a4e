package io.socketlauncher.repair;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.sys.Libc;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.NumberedStream;

/** Real connections on the testbed, moved between s1 and s2 with TCP_REPAIR; every byte checked. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TcpRepairTest {
    static MoveBed bed;
    static ExecutorService pool;

    @BeforeAll
    static void up() throws Exception {
        bed = new MoveBed();
        pool = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    static void down() {
        if (pool != null) pool.shutdownNow();
        if (bed != null) bed.close();
    }

    /** Both directions at once: the client and the server each send {@code n} more bytes and check the other's. */
    static void exchange(MoveBed.Flow flow, long clientSent, long serverSent, int n) throws Exception {
        Future<?> a = pool.submit(() -> { NumberedStream.send(flow.clientFd, clientSent, n, NumberedStream.CLIENT_TO_SERVER); return null; });
        Future<?> b = pool.submit(() -> { NumberedStream.expect(flow.serverFd, clientSent, n, NumberedStream.CLIENT_TO_SERVER); return null; });
        Future<?> c = pool.submit(() -> { NumberedStream.send(flow.serverFd, serverSent, n, NumberedStream.SERVER_TO_CLIENT); return null; });
        Future<?> d = pool.submit(() -> { NumberedStream.expect(flow.clientFd, serverSent, n, NumberedStream.SERVER_TO_CLIENT); return null; });
        for (Future<?> f : new Future<?>[] {a, b, c, d}) f.get(60, TimeUnit.SECONDS);
    }

    @Test
    void establishedConnectionWithQueuesMovesBothWaysAndGoesOn() throws Exception {
        MoveBed.Flow flow = bed.connect();
        try {
            NumberedStream.send(flow.clientFd, 0, 1000, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.send(flow.serverFd, 0, 1500, NumberedStream.SERVER_TO_CLIENT);
            TcpInfo.awaitInq(flow.serverFd, 1000);

            TcpState state = bed.move(flow);

            assertThat(state.state()).isEqualTo(TcpConnectionState.ESTABLISHED);
            assertThat(state.receiveQueue()).isEqualTo(NumberedStream.pattern(0, 1000, NumberedStream.CLIENT_TO_SERVER));
            assertThat(flow.server).isSameAs(bed.s2);
            NumberedStream.expect(flow.serverFd, 0, 1000, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.expect(flow.clientFd, 0, 1500, NumberedStream.SERVER_TO_CLIENT);
            exchange(flow, 1000, 1500, 300_000);

            TcpState back = bed.move(flow);
            assertThat(flow.server).isSameAs(bed.s1);
            // The timestamp clock must never run backwards across moves (the peer would drop our segments
            // under PAWS), and its lowest bit (microsecond clock) must survive.
            assertThat(back.options().timestampClock() - state.options().timestampClock()).isPositive();
            assertThat(back.options().timestampClock() & 1).isEqualTo(state.options().timestampClock() & 1);
            exchange(flow, 301_000, 301_500, 300_000);
        } finally {
            flow.close();
        }
    }

    /**
     * A socket in repair mode still takes acknowledgements, and one that arrives while the state is read frees
     * acknowledged bytes from the send queue under the reader's feet. The capture reads the state again rather than
     * refusing the socket (it rolled back about one move in 60,000-230,000 of the demo). Here the client reads a
     * stream as fast as it comes while the server captures and resumes its socket between sends, so acknowledgements
     * keep arriving during dumps; every capture must succeed and every byte arrive once, in order.
     */
    @Test
    void acknowledgementsArrivingDuringTheDumpAreReadAgainNotRefused() throws Exception {
        MoveBed.Flow flow = bed.connect();
        try {
            long total = 64L << 20;
            Future<?> reader = pool.submit(() -> {
                NumberedStream.expect(flow.clientFd, 0, total, NumberedStream.SERVER_TO_CLIENT);
                return null;
            });
            byte[] chunk = new byte[16 * 1024];
            long sent = 0, rereadsBefore = TcpRepair.rereads();
            int captures = 0, firstSequence = 0;
            while (sent < total) {
                int length = (int) Math.min(chunk.length, total - sent);
                NumberedStream.fill(chunk, length, sent, NumberedStream.SERVER_TO_CLIENT);
                int n = Libc.send(flow.serverFd, chunk, 0, length, Libc.MSG_DONTWAIT);
                if (n > 0) sent += n;
                TcpState state = TcpRepair.capture(flow.serverFd);
                TcpRepair.resume(flow.serverFd);
                // The queue is the last bytes written, and its sequence numbers end where the writing did.
                int queued = state.sendQueue().length;
                int initialSequence = state.sendSeq() + queued - (int) sent;
                if (captures == 0) firstSequence = initialSequence;
                assertThat(initialSequence).as("capture %d: the send queue's sequence numbers", captures).isEqualTo(firstSequence);
                // Its ends every time (the whole queue now and then: copying megabytes each time would slow the loop).
                int end = Math.min(8, queued);
                assertThat(Arrays.copyOfRange(state.sendQueue(), 0, end)).as("capture %d: the send queue's head", captures)
                        .isEqualTo(NumberedStream.pattern(sent - queued, end, NumberedStream.SERVER_TO_CLIENT));
                assertThat(Arrays.copyOfRange(state.sendQueue(), queued - end, queued)).as("capture %d: its tail", captures)
                        .isEqualTo(NumberedStream.pattern(sent - end, end, NumberedStream.SERVER_TO_CLIENT));
                if (captures % 64 == 0) {
                    assertThat(state.sendQueue()).as("capture %d: the send queue", captures)
                            .isEqualTo(NumberedStream.pattern(sent - queued, queued, NumberedStream.SERVER_TO_CLIENT));
                }
                captures++;
            }
            reader.get(60, TimeUnit.SECONDS);
            assertThat(TcpRepair.rereads() - rereadsBefore)
                    .as("of %d captures, some met an acknowledgement during the dump (else this tests nothing)", captures)
                    .isPositive();
        } finally {
            flow.close();
        }
    }

    /**
     * Data that reaches the receive queue while the state is read would be acknowledged here and missing from the
     * state: the capture refuses the socket with a {@link DataDuringDumpException} (which a departure answers by
     * draining again) and leaves it out of repair mode. Here the client streams as fast as it can while the server reads
     * and captures its socket over and over: some captures must meet arriving data, and every byte must still come in
     * once, in order.
     */
    @Test
    void dataArrivingDuringTheDumpIsRefusedAsSuchAndNothingIsLost() throws Exception {
        MoveBed.Flow flow = bed.connect();
        try {
            int total = 32 << 20;
            Future<?> sender = pool.submit(() -> {
                NumberedStream.send(flow.clientFd, 0, total, NumberedStream.CLIENT_TO_SERVER);
                return null;
            });
            byte[] buffer = new byte[64 * 1024];
            long received = 0;
            int captures = 0, refused = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (received < total && System.nanoTime() < deadline) {
                int n = Libc.recv(flow.serverFd, buffer, 0, buffer.length, Libc.MSG_DONTWAIT);
                if (n > 0) {
                    assertThat(Arrays.copyOf(buffer, n)).as("bytes %d..%d", received, received + n)
                            .isEqualTo(NumberedStream.pattern(received, n, NumberedStream.CLIENT_TO_SERVER));
                    received += n;
                }
                try {
                    TcpRepair.capture(flow.serverFd);
                    TcpRepair.resume(flow.serverFd);
                } catch (DataDuringDumpException e) {
                    refused++;
                }
                captures++;
            }
            sender.get(10, TimeUnit.SECONDS);
            assertThat(received).as("every byte came in").isEqualTo(total);
            assertThat(refused).as("of %d captures, some met arriving data (else this tests nothing)", captures).isPositive();
        } finally {
            flow.close();
        }
    }

    @Test
    void applicationSocketOptionsTravelWithTheConnection() throws Exception {
        MoveBed.Flow flow = bed.connect();
        try {
            int fd = flow.serverFd;
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_KEEPALIVE, 1);
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_KEEPIDLE, 77);
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_KEEPINTVL, 13);
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_KEEPCNT, 5);
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_USER_TIMEOUT, 12_345);
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_NOTSENT_LOWAT, 131_072);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_MARK, 42);
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_CONGESTION, "reno".getBytes());
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_SNDBUF, 300_000);

            TcpState state = bed.move(flow);

            int moved = flow.serverFd;
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_TCP, Libc.TCP_NODELAY)).isEqualTo(1);
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_SOCKET, Libc.SO_KEEPALIVE)).isEqualTo(1);
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_TCP, Libc.TCP_KEEPIDLE)).isEqualTo(77);
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_TCP, Libc.TCP_KEEPINTVL)).isEqualTo(13);
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_TCP, Libc.TCP_KEEPCNT)).isEqualTo(5);
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_TCP, Libc.TCP_USER_TIMEOUT)).isEqualTo(12_345);
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_TCP, Libc.TCP_NOTSENT_LOWAT)).isEqualTo(131_072);
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_SOCKET, Libc.SO_MARK)).isEqualTo(42);
            assertThat(new String(Libc.getsockopt(moved, Libc.SOL_TCP, Libc.TCP_CONGESTION, 16)).trim().replace("\0", ""))
                    .isEqualTo("reno");
            assertThat(Libc.getsockoptInt(moved, Libc.SOL_SOCKET, Libc.SO_SNDBUF)).isEqualTo(600_000);
            assertThat(state.settings().congestionControl()).isEqualTo("reno");
            exchange(flow, 0, 0, 100_000);
        } finally {
            flow.close();
        }
    }

    /**
     * Each negotiated option switched off on the client (the server then can't use it either), or a small
     * MSS asked for before connect. The moved connection must carry a few hundred KB each way after the
     * move: a wrong window scale, timestamp clock or MSS stalls it.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "all options on,            ,                         , 0",
            "timestamps off,             net/ipv4/tcp_timestamps, 0, 0",
            "SACK off,                   net/ipv4/tcp_sack,       0, 0",
            "window scaling off,         net/ipv4/tcp_window_scaling, 0, 0",
            "MSS 536,                    ,                         , 536",
    })
    void negotiatedOptionsSurviveTheMove(String name, String sysctl, String value, int mss) throws Exception {
        if (sysctl != null) bed.sysctl(bed.client, sysctl, value);
        MoveBed.Flow flow;
        try {
            flow = bed.connect(fd -> { if (mss > 0) Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_MAXSEG, mss); }, fd -> {});
        } finally {
            if (sysctl != null) bed.sysctl(bed.client, sysctl, "1");
        }
        try {
            exchange(flow, 0, 0, 50_000);
            TcpState state = bed.move(flow);
            TcpOptions o = state.options();
            assertThat(o.timestamps()).as("timestamps").isEqualTo(!"net/ipv4/tcp_timestamps".equals(sysctl));
            assertThat(o.sack()).as("SACK").isEqualTo(!"net/ipv4/tcp_sack".equals(sysctl));
            assertThat(o.windowScaling()).as("window scaling").isEqualTo(!"net/ipv4/tcp_window_scaling".equals(sysctl));
            if (o.windowScaling()) assertThat(o.receiveWindowScale()).isPositive();
            if (mss > 0) assertThat(o.mss()).isLessThanOrEqualTo(mss).isGreaterThan(400);
            else assertThat(o.mss()).isGreaterThan(1000);
            int restoredMss = Libc.getsockoptInt(flow.serverFd, Libc.SOL_TCP, Libc.TCP_MAXSEG);
            // A socket connected in repair mode reserves timestamp space whenever its namespace has
            // tcp_timestamps on, negotiated or not: without timestamps it may come out 12 bytes smaller.
            if (o.timestamps()) assertThat(restoredMss).as("effective MSS after the restore").isEqualTo(o.mss());
            else assertThat(restoredMss).as("effective MSS after the restore").isIn(o.mss(), o.mss() - 12);
            exchange(flow, 50_000, 50_000, 400_000);
            bed.move(flow);
            exchange(flow, 450_000, 450_000, 400_000);
        } finally {
            flow.close();
        }
    }

    /**
     * Several MB each way: large server buffers, small client buffers, nobody reads. The server's receive
     * queue fills until it advertises a zero window, its send queue holds MB the client has no room for
     * (mostly never sent). After the move both sides read everything.
     */
    @Test
    void multiMegabyteQueuesAtZeroWindowMoveIntact() throws Exception {
        MoveBed.SocketSetup smallBuffers = fd -> {
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, 64 * 1024);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_SNDBUF, 64 * 1024);
        };
        MoveBed.SocketSetup largeBuffers = fd -> {
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, 6 << 20);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_SNDBUFFORCE, 6 << 20);
        };
        MoveBed.Flow flow = bed.connect(smallBuffers, largeBuffers);
        try {
            Future<Long> clientFill = pool.submit(() -> Streams.fill(flow.clientFd, 0, NumberedStream.CLIENT_TO_SERVER));
            long serverSent = Streams.fill(flow.serverFd, 0, NumberedStream.SERVER_TO_CLIENT);
            long clientSent = clientFill.get();

            TcpState state = bed.move(flow);
            System.out.printf("moved %s: receive queue %d bytes (rcv_wnd %d), send queue %d bytes (%d unsent); "
                    + "client sent %d, server sent %d%n", state.state(), state.receiveQueue().length,
                    state.window().rcvWnd(), state.sendQueue().length, state.unsentLength(), clientSent, serverSent);

            assertThat(state.receiveQueue().length).as("receive queue").isGreaterThanOrEqualTo(2 << 20);
            assertThat(state.sendQueue().length).as("send queue").isGreaterThanOrEqualTo(2 << 20);
            assertThat(state.unsentLength()).as("unsent part of the send queue").isPositive();
            assertThat(state.window().rcvWnd()).as("advertised receive window (zero window)").isLessThan(state.options().mss());

            Future<?> serverReads = pool.submit(() -> { NumberedStream.expect(flow.serverFd, 0, clientSent, NumberedStream.CLIENT_TO_SERVER); return null; });
            NumberedStream.expect(flow.clientFd, 0, serverSent, NumberedStream.SERVER_TO_CLIENT);
            serverReads.get(60, TimeUnit.SECONDS);
            exchange(flow, clientSent, serverSent, 100_000);
        } finally {
            flow.close();
        }
    }

    // Half-closed connections: CLOSE_WAIT, FIN_WAIT2, FIN_WAIT1 and LAST_ACK with drop rules holding the
    // acknowledgements back, CLOSING with the server's FIN held back on its way out.

    @Test
    void closeWaitMovesWithThePeersFinAfterItsData() throws Exception {
        MoveBed.Flow flow = bed.connect();
        try {
            NumberedStream.send(flow.clientFd, 0, 5000, NumberedStream.CLIENT_TO_SERVER);
            Libc.shutdown(flow.clientFd, Libc.SHUT_WR);
            TcpInfo.awaitState(flow.serverFd, TcpConnectionState.CLOSE_WAIT);
            TcpInfo.awaitInq(flow.serverFd, 5000);

            TcpState state = bed.move(flow);

            assertThat(state.state()).isEqualTo(TcpConnectionState.CLOSE_WAIT);
            assertThat(TcpInfo.state(flow.serverFd)).isEqualTo(TcpConnectionState.CLOSE_WAIT.kernelValue());
            NumberedStream.expect(flow.serverFd, 0, 5000, NumberedStream.CLIENT_TO_SERVER);
            Streams.expectEnd(flow.serverFd);
            Future<?> reads = pool.submit(() -> { NumberedStream.expect(flow.clientFd, 0, 300_000, NumberedStream.SERVER_TO_CLIENT); return null; });
            NumberedStream.send(flow.serverFd, 0, 300_000, NumberedStream.SERVER_TO_CLIENT);
            reads.get(60, TimeUnit.SECONDS);
            Libc.shutdown(flow.serverFd, Libc.SHUT_WR);
            Streams.expectEnd(flow.clientFd);
        } finally {
            flow.close();
        }
    }

    @Test
    void finWait2MovesAndStillReceives() throws Exception {
        MoveBed.Flow flow = bed.connect();
        try {
            NumberedStream.send(flow.serverFd, 0, 2000, NumberedStream.SERVER_TO_CLIENT);
            Libc.shutdown(flow.serverFd, Libc.SHUT_WR);
            NumberedStream.expect(flow.clientFd, 0, 2000, NumberedStream.SERVER_TO_CLIENT);
            Streams.expectEnd(flow.clientFd);
            NumberedStream.send(flow.clientFd, 0, 4000, NumberedStream.CLIENT_TO_SERVER);
            TcpInfo.awaitState(flow.serverFd, TcpConnectionState.FIN_WAIT2);
            TcpInfo.awaitInq(flow.serverFd, 4000);

            TcpState state = bed.move(flow);

            assertThat(state.state()).isEqualTo(TcpConnectionState.FIN_WAIT2);
            assertThat(TcpInfo.state(flow.serverFd)).isEqualTo(TcpConnectionState.FIN_WAIT2.kernelValue());
            Future<?> reads = pool.submit(() -> { NumberedStream.expect(flow.serverFd, 0, 304_000, NumberedStream.CLIENT_TO_SERVER); return null; });
            NumberedStream.send(flow.clientFd, 4000, 300_000, NumberedStream.CLIENT_TO_SERVER);
            reads.get(60, TimeUnit.SECONDS);
            Libc.shutdown(flow.clientFd, Libc.SHUT_WR);
            Streams.expectEnd(flow.serverFd);
        } finally {
            flow.close();
        }
    }

    /** The client's ACKs are dropped from before the server's FIN, so the FIN (and data) stay unacknowledged. */
    @Test
    void finWait1MovesWithItsUnacknowledgedFin() throws Exception {
        MoveBed.Flow flow = bed.connect();
        bed.drop(bed.s1, flow, true);
        bed.drop(bed.s2, flow, true);
        try {
            NumberedStream.send(flow.serverFd, 0, 1000, NumberedStream.SERVER_TO_CLIENT);
            Libc.shutdown(flow.serverFd, Libc.SHUT_WR);
            Thread.sleep(50);
            assertThat(TcpInfo.state(flow.serverFd)).isEqualTo(TcpConnectionState.FIN_WAIT1.kernelValue());

            TcpState state = bed.moveHeld(flow, bed.s2);

            assertThat(state.state()).isEqualTo(TcpConnectionState.FIN_WAIT1);
            assertThat(state.sendQueue()).isEqualTo(NumberedStream.pattern(0, 1000, NumberedStream.SERVER_TO_CLIENT));
            assertThat(state.unsentLength()).as("sent but unacknowledged, none unsent").isZero();
            assertThat(TcpInfo.state(flow.serverFd)).isEqualTo(TcpConnectionState.FIN_WAIT1.kernelValue());
        } finally {
            bed.drop(bed.s2, flow, false);
            bed.drop(bed.s1, flow, false);
        }
        try {
            NumberedStream.expect(flow.clientFd, 0, 1000, NumberedStream.SERVER_TO_CLIENT);
            Streams.expectEnd(flow.clientFd);
            TcpInfo.awaitState(flow.serverFd, TcpConnectionState.FIN_WAIT2);
            Future<?> reads = pool.submit(() -> { NumberedStream.expect(flow.serverFd, 0, 200_000, NumberedStream.CLIENT_TO_SERVER); return null; });
            NumberedStream.send(flow.clientFd, 0, 200_000, NumberedStream.CLIENT_TO_SERVER);
            reads.get(60, TimeUnit.SECONDS);
        } finally {
            flow.close();
        }
    }

    @Test
    void lastAckMovesWithBothFins() throws Exception {
        MoveBed.Flow flow = bed.connect();
        Libc.shutdown(flow.clientFd, Libc.SHUT_WR);
        TcpInfo.awaitState(flow.serverFd, TcpConnectionState.CLOSE_WAIT);
        bed.drop(bed.s1, flow, true);
        bed.drop(bed.s2, flow, true);
        try {
            NumberedStream.send(flow.serverFd, 0, 800, NumberedStream.SERVER_TO_CLIENT);
            Libc.shutdown(flow.serverFd, Libc.SHUT_WR);
            Thread.sleep(50);
            assertThat(TcpInfo.state(flow.serverFd)).isEqualTo(TcpConnectionState.LAST_ACK.kernelValue());

            TcpState state = bed.moveHeld(flow, bed.s2);

            assertThat(state.state()).isEqualTo(TcpConnectionState.LAST_ACK);
            assertThat(TcpInfo.state(flow.serverFd)).isEqualTo(TcpConnectionState.LAST_ACK.kernelValue());
        } finally {
            bed.drop(bed.s2, flow, false);
            bed.drop(bed.s1, flow, false);
        }
        try {
            NumberedStream.expect(flow.clientFd, 0, 800, NumberedStream.SERVER_TO_CLIENT);
            Streams.expectEnd(flow.clientFd);
            Streams.expectEnd(flow.serverFd);
        } finally {
            flow.close();
        }
    }

    /** Simultaneous close: the server's FIN is held on its way out, so the client's FIN crosses it. */
    @Test
    void closingMovesWithBothFinsCrossed() throws Exception {
        MoveBed.Flow flow = bed.connect();
        String[] holdFin = {"OUTPUT", "-p", "tcp", "--sport", Integer.toString(flow.serviceAddress.getPort()),
                "--dport", Integer.toString(flow.clientAddress.getPort()), "--tcp-flags", "FIN", "FIN", "-j", "DROP"};
        bed.s1.iptables("-I", holdFin);
        bed.drop(bed.s2, flow, true);
        try {
            NumberedStream.send(flow.serverFd, 0, 700, NumberedStream.SERVER_TO_CLIENT);
            NumberedStream.expect(flow.clientFd, 0, 700, NumberedStream.SERVER_TO_CLIENT);
            Libc.shutdown(flow.serverFd, Libc.SHUT_WR);
            TcpInfo.awaitState(flow.serverFd, TcpConnectionState.FIN_WAIT1);
            Libc.shutdown(flow.clientFd, Libc.SHUT_WR);
            TcpInfo.awaitState(flow.serverFd, TcpConnectionState.CLOSING);
            bed.drop(bed.s1, flow, true);

            TcpState state = bed.moveHeld(flow, bed.s2);

            assertThat(state.state()).isEqualTo(TcpConnectionState.CLOSING);
            assertThat(TcpInfo.state(flow.serverFd)).isEqualTo(TcpConnectionState.CLOSING.kernelValue());
        } finally {
            bed.drop(bed.s2, flow, false);
            bed.drop(bed.s1, flow, false);
            bed.s1.iptables("-D", holdFin);
        }
        try {
            Streams.expectEnd(flow.serverFd);
            Streams.expectEnd(flow.clientFd);
        } finally {
            flow.close();
        }
    }

    @Test
    void ipv6ConnectionsMoveEstablishedAndHalfClosed() throws Exception {
        MoveBed.Flow flow = bed.connect(true, fd -> {}, fd -> {});
        try {
            exchange(flow, 0, 0, 100_000);
            NumberedStream.send(flow.clientFd, 100_000, 3000, NumberedStream.CLIENT_TO_SERVER);
            TcpInfo.awaitInq(flow.serverFd, 3000);
            TcpState state = bed.move(flow);
            assertThat(state.local().getAddress()).isEqualTo(bed.testbed.serviceAddress6());
            assertThat(state.receiveQueue()).isEqualTo(NumberedStream.pattern(100_000, 3000, NumberedStream.CLIENT_TO_SERVER));
            NumberedStream.expect(flow.serverFd, 100_000, 3000, NumberedStream.CLIENT_TO_SERVER);
            exchange(flow, 103_000, 100_000, 200_000);

            Libc.shutdown(flow.clientFd, Libc.SHUT_WR);
            TcpInfo.awaitState(flow.serverFd, TcpConnectionState.CLOSE_WAIT);
            TcpState closeWait = bed.move(flow);
            assertThat(closeWait.state()).isEqualTo(TcpConnectionState.CLOSE_WAIT);
            assertThat(TcpInfo.state(flow.serverFd)).isEqualTo(TcpConnectionState.CLOSE_WAIT.kernelValue());
            Streams.expectEnd(flow.serverFd);
            NumberedStream.send(flow.serverFd, 300_000, 5000, NumberedStream.SERVER_TO_CLIENT);
            NumberedStream.expect(flow.clientFd, 300_000, 5000, NumberedStream.SERVER_TO_CLIENT);
            Libc.shutdown(flow.serverFd, Libc.SHUT_WR);
            Streams.expectEnd(flow.clientFd);
        } finally {
            flow.close();
        }
    }
}
