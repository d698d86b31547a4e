package io.socketlauncher.server.hold;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.TcpCounters;
import io.socketlauncher.testbed.Testbed;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packet hold on a real testbed: the service address lives on s1's loopback and the lb routes it
 * there, so the client talks to s1 directly through the lb; the hold sits on s1's eth0.
 */
class HoldPlaneTest {
    private static final int PORT = 7100;

    private static Testbed testbed;
    private static Host client, server;
    private static HoldPlane plane;
    private static int listener = -1;

    @BeforeAll
    static void setUp() throws Exception {
        testbed = Testbed.builder().clients(1).servers(1).build();
        client = testbed.client(1);
        server = testbed.server(1);
        String vip = testbed.serviceAddress().getHostAddress();
        server.exec("ip", "addr", "add", vip + "/32", "dev", "lo");
        testbed.lb().exec("ip", "route", "add", vip + "/32", "via", server.address().getHostAddress());
        plane = HoldPlane.start(server.namespace(), server.linkToLb(), "slhold");
        listener = server.namespace().call(() -> {
            int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1);
            Libc.bind(fd, new InetSocketAddress(testbed.serviceAddress(), PORT));
            Libc.listen(fd, 16);
            return fd;
        });
    }

    @AfterAll
    static void tearDown() throws Exception {
        Libc.closeQuietly(listener);
        try {
            if (plane != null) plane.close();
        } finally {
            if (testbed != null) testbed.close();
        }
    }

    /** A connected pair: [client fd, server fd]. */
    private static int[] connect() throws Exception {
        int c = client.namespace().call(() -> {
            int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            // Nagle would keep a short tail segment back until an ACK that a hold never lets come
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
            Libc.connect(fd, new InetSocketAddress(testbed.serviceAddress(), PORT));
            return fd;
        });
        return new int[] {c, Libc.accept(listener, Libc.SOCK_CLOEXEC)};
    }

    private static FlowTuple flowAtServer(int serverFd) throws Exception {
        return new FlowTuple(Libc.getpeername(serverFd), Libc.getsockname(serverFd));
    }

    @Test
    void heldSegmentsReachTheSocketOnlyAtReleaseAndInOrder() throws Exception {
        int[] pair = connect();
        try {
            FlowTuple flow = flowAtServer(pair[1]);
            TcpCounters clientBefore = TcpCounters.of(client), serverBefore = TcpCounters.of(server);

            assertThat(plane.hold(flow)).as("hold of a fresh flow (no forwarding replaced)").isZero();
            assertThat(plane.hold(flow)).as("a second hold of a held flow").isEqualTo(-1);
            int length = 10_000; // within the initial congestion window: all of it leaves the client at once
            Libc.sendFully(pair[0], NumberedStream.pattern(0, length, NumberedStream.CLIENT_TO_SERVER), 0, length);
            await(() -> "all " + length + " bytes held, not " + plane.held(flow),
                    () -> plane.held(flow).orElseThrow().payloadBytes() >= length);

            assertThat(Libc.ioctlInt(pair[1], Libc.SIOCINQ)).as("bytes in the server socket while held").isZero();
            assertThat(Libc.recv(pair[1], new byte[1], 0, 1, Libc.MSG_DONTWAIT)).as("a read while held").isEqualTo(-1);
            int held = plane.held(flow).orElseThrow().packets();

            int released = plane.release(flow);
            await(() -> "hand-over to the direct path", () -> plane.held(flow).isEmpty());
            NumberedStream.expect(pair[1], 0, length, NumberedStream.CLIENT_TO_SERVER);
            byte[] reply = NumberedStream.pattern(0, 1000, NumberedStream.SERVER_TO_CLIENT);
            Libc.sendFully(pair[1], reply, 0, reply.length);
            NumberedStream.expect(pair[0], 0, reply.length, NumberedStream.SERVER_TO_CLIENT);

            TcpCounters clientAfter = TcpCounters.of(client), serverAfter = TcpCounters.of(server);
            System.out.printf("hold: %d packets held, %d released; client RetransSegs +%d%n", held, released,
                    clientAfter.since(clientBefore, "RetransSegs"));
            assertThat(released).as("packets released (a tail-loss probe may add one)").isGreaterThanOrEqualTo(held).isPositive();
            assertThat(serverAfter.since(serverBefore, "OutRsts")).as("resets sent by the server").isZero();
            assertThat(clientAfter.since(clientBefore, "EstabResets")).as("client connections reset").isZero();
        } finally {
            Libc.closeQuietly(pair[0]);
            Libc.closeQuietly(pair[1]);
        }
    }

    @Test
    void anIpv6FlowIsHeldAndReleasedToo() throws Exception {
        InetSocketAddress address = new InetSocketAddress(server.address6(), PORT + 6);
        int listener6 = server.namespace().call(() -> {
            int fd = Libc.socket(Libc.AF_INET6, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.bind(fd, address);
            Libc.listen(fd, 4);
            return fd;
        });
        int c = -1, s = -1;
        try {
            c = client.namespace().call(() -> {
                int fd = Libc.socket(Libc.AF_INET6, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
                Libc.connect(fd, address);
                return fd;
            });
            s = Libc.accept(listener6, Libc.SOCK_CLOEXEC);
            FlowTuple flow = flowAtServer(s);
            TcpCounters serverBefore = TcpCounters.of(server);

            assertThat(plane.hold(flow)).as("hold of a fresh flow (no forwarding replaced)").isZero();
            int length = 5_000;
            Libc.sendFully(c, NumberedStream.pattern(0, length, NumberedStream.CLIENT_TO_SERVER), 0, length);
            await(() -> "all " + length + " bytes held, not " + plane.held(flow), () -> plane.held(flow).orElseThrow().payloadBytes() >= length);
            assertThat(Libc.ioctlInt(s, Libc.SIOCINQ)).as("bytes in the server socket while held").isZero();
            assertThat(plane.release(flow)).as("packets released").isPositive();
            NumberedStream.expect(s, 0, length, NumberedStream.CLIENT_TO_SERVER);
            assertThat(TcpCounters.of(server).since(serverBefore, "OutRsts")).as("resets sent by the server").isZero();
        } finally {
            Libc.closeQuietly(c);
            Libc.closeQuietly(s);
            Libc.closeQuietly(listener6);
        }
    }

    @Test
    void aStreamHeldAndReleasedManyTimesArrivesWhole() throws Exception {
        int[] pair = connect();
        ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
        AtomicBoolean sending = new AtomicBoolean(true);
        try {
            FlowTuple flow = flowAtServer(pair[1]);
            TcpCounters clientBefore = TcpCounters.of(client), serverBefore = TcpCounters.of(server);
            Future<Long> sent = threads.submit(() -> {
                long position = 0;
                byte[] chunk = new byte[16 * 1024];
                while (sending.get()) {
                    NumberedStream.fill(chunk, chunk.length, position, NumberedStream.CLIENT_TO_SERVER);
                    Libc.sendFully(pair[0], chunk, 0, chunk.length);
                    position += chunk.length;
                    // Paced (about 50 MB/s): flat out, this testbed's veths lose segments by themselves,
                    // which would drown what the holds cost.
                    Thread.sleep(0, 300_000);
                }
                Libc.shutdown(pair[0], Libc.SHUT_WR);
                return position;
            });
            Future<Long> received = threads.submit(() -> {
                long position = 0;
                byte[] buf = new byte[256 * 1024];
                while (true) {
                    int n = Libc.recv(pair[1], buf, 0, buf.length, 0);
                    if (n == 0) return position;
                    assertThat(NumberedStream.firstMismatch(buf, n, position, NumberedStream.CLIENT_TO_SERVER)).as("first byte that differs").isEqualTo(-1);
                    position += n;
                }
            });

            // The same stream without holds first: the retransmissions it costs by itself.
            Thread.sleep(1000);
            TcpCounters clientBaseline = TcpCounters.of(client);
            long baselineRetransmits = clientBaseline.since(clientBefore, "RetransSegs");
            int cycles = 30;
            long released = 0;
            for (int i = 0; i < cycles; i++) {
                assertThat(plane.hold(flow)).as("hold after the hand-over of cycle " + (i - 1)).isZero();
                int cycle = i;
                await(() -> "a packet held in cycle " + cycle, () -> plane.held(flow).orElseThrow().packets() > 0 || sent.isDone());
                int written = plane.release(flow);
                assertThat(written).as("packets held and written back in cycle " + i).isPositive();
                released += written;
                await(() -> "hand-over in cycle " + cycle, () -> plane.held(flow).isEmpty());
                Thread.sleep(5);
            }
            sending.set(false);
            long total = sent.get();
            assertThat(received.get()).as("bytes the server read and checked").isEqualTo(total);

            TcpCounters clientAfter = TcpCounters.of(client), serverAfter = TcpCounters.of(server);
            System.out.printf("stream: %d bytes; 1 s without holds: client RetransSegs +%d; then %d hold cycles: %d packets held "
                            + "and released, %d hand-overs timed out, %d stragglers, %d dropped, TUN tx_dropped %s; client %s%n",
                    total, baselineRetransmits, cycles, released, plane.handoffTimeouts(), plane.stragglers(), plane.dropped(),
                    server.exec("cat", "/sys/class/net/slhold/statistics/tx_dropped").stdout().strip(),
                    clientAfter.describe(clientBaseline, "RetransSegs", "TCPLossProbes", "TCPFastRetrans", "TCPTimeouts",
                            "TCPSACKReorder", "TCPDSACKRecv", "TCPSpuriousRTOs"));
            assertThat(serverAfter.since(serverBefore, "OutRsts")).as("resets sent by the server").isZero();
            assertThat(clientAfter.since(clientBefore, "EstabResets")).as("client connections reset").isZero();
        } finally {
            sending.set(false);
            Libc.closeQuietly(pair[0]);
            Libc.closeQuietly(pair[1]);
            threads.shutdownNow();
        }
    }

    private static void await(Supplier<String> what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("not within 20 s: " + what.get());
            Thread.sleep(1);
        }
    }
}
