package io.socketlauncher.server.hold;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.repair.TcpRepair;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.TcpCounters;
import io.socketlauncher.testbed.Testbed;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The measured-lossless ordering, assembled from the data plane and TCP_REPAIR: hold at the target,
 * re-point at the "balancer" (the lb's route to the service address), forward at the source, fence,
 * dump, restore, release. The service address is on both servers' loopback (direct routing), so the
 * source bounces late segments back to the lb unchanged and the lb's new route delivers them to the
 * target's hold. Bytes stream both ways throughout; every one is checked.
 */
class LiveMoveTest {
    private static final int PORT = 7200;

    @Test
    void aStreamingConnectionMovesBackAndForthWithoutLossOrReset() throws Exception {
        try (Testbed testbed = Testbed.builder().clients(1).servers(2).build()) {
            Host client = testbed.client(1);
            Host[] servers = {testbed.server(1), testbed.server(2)};
            String vip = testbed.serviceAddress().getHostAddress();
            for (Host s : servers) s.exec("ip", "addr", "add", vip + "/32", "dev", "lo");
            testbed.lb().exec("ip", "route", "add", vip + "/32", "via", servers[0].address().getHostAddress());
            HoldPlane[] planes = new HoldPlane[2];
            int listener = -1, clientFd = -1, serverFd = -1;
            ExecutorService threads = Executors.newFixedThreadPool(2);
            AtomicBoolean sending = new AtomicBoolean(true);
            try {
                for (int i = 0; i < 2; i++) planes[i] = HoldPlane.start(servers[i].namespace(), servers[i].linkToLb(), "slhold");
                listener = servers[0].namespace().call(() -> {
                    int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                    Libc.bind(fd, new InetSocketAddress(testbed.serviceAddress(), PORT));
                    Libc.listen(fd, 4);
                    return fd;
                });
                clientFd = client.namespace().call(() -> {
                    int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                    Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
                    Libc.connect(fd, new InetSocketAddress(testbed.serviceAddress(), PORT));
                    return fd;
                });
                serverFd = Libc.accept(listener, Libc.SOCK_CLOEXEC);
                FlowTuple flow = new FlowTuple(Libc.getpeername(serverFd), Libc.getsockname(serverFd));
                TcpCounters clientBefore = TcpCounters.of(client);
                TcpCounters[] serversBefore = {TcpCounters.of(servers[0]), TcpCounters.of(servers[1])};

                int c = clientFd;
                Future<Long> sent = threads.submit(() -> {
                    long position = 0;
                    byte[] chunk = new byte[4096];
                    while (sending.get()) {
                        NumberedStream.fill(chunk, chunk.length, position, NumberedStream.CLIENT_TO_SERVER);
                        Libc.sendFully(c, chunk, 0, chunk.length);
                        position += chunk.length;
                        Thread.sleep(0, 200_000);
                    }
                    Libc.shutdown(c, Libc.SHUT_WR);
                    return position;
                });
                Future<Long> clientReceived = threads.submit(() -> {
                    long position = 0;
                    byte[] buf = new byte[64 * 1024];
                    while (true) {
                        if (Libc.poll(c, Libc.POLLIN, 60_000) == 0) fail("client: nothing to read for 60 s at " + position);
                        int n = Libc.recv(c, buf, 0, buf.length, 0);
                        if (n == 0) return position;
                        assertThat(NumberedStream.firstMismatch(buf, n, position, NumberedStream.SERVER_TO_CLIENT)).as("first byte that differs").isEqualTo(-1);
                        position += n;
                    }
                });

                long received = 0, serverSent = 0;
                byte[] buf = new byte[64 * 1024];
                int moves = 10, at = 0;
                long holdPackets = 0, replacedForwarding = 0;
                for (int m = 0; m < moves; m++) {
                    // Some traffic both ways on the current server before each move.
                    long goal = received + 64 * 1024;
                    while (received < goal) {
                        if (Libc.poll(serverFd, Libc.POLLIN, 30_000) == 0) fail("server: nothing to read for 30 s at " + received);
                        int n = Libc.recv(serverFd, buf, 0, buf.length, Libc.MSG_DONTWAIT);
                        if (n <= 0) continue;
                        assertThat(NumberedStream.firstMismatch(buf, n, received, NumberedStream.CLIENT_TO_SERVER)).as("first byte that differs").isEqualTo(-1);
                        received += n;
                    }
                    byte[] reply = NumberedStream.pattern(serverSent, 8192, NumberedStream.SERVER_TO_CLIENT);
                    Libc.sendFully(serverFd, reply, 0, reply.length);
                    serverSent += reply.length;

                    int to = 1 - at;
                    // From the third move on, the target still forwards the flow from its own departure: the hold
                    // replaces that in the same call.
                    long replaced = planes[to].hold(flow);
                    assertThat(replaced).as("hold at the target in move %d", m).isNotNegative();
                    replacedForwarding += replaced;
                    testbed.lb().exec("ip", "route", "replace", vip + "/32", "via", servers[to].address().getHostAddress());
                    planes[at].forward(flow, Optional.empty());
                    planes[at].fence();
                    TcpState state = TcpRepair.capture(serverFd);
                    Libc.close(serverFd);
                    serverFd = servers[to].namespace().call(() -> TcpRepair.restore(state));
                    holdPackets += planes[to].release(flow);
                    at = to;
                }
                // A late segment: one that reaches the last source after the move, as if it had been on
                // its way there. It must be passed on to the target, not answered with a reset.
                Host source = servers[1 - at];
                TcpCounters sourceBefore = TcpCounters.of(source);
                HoldPlane sourcePlane = planes[1 - at];
                long forwardedBefore = sourcePlane.forwarded(flow);
                injectFromLb(testbed.lb(), source, flow);
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (sourcePlane.forwarded(flow) == forwardedBefore) {
                    if (System.nanoTime() > deadline) fail("the late segment was not forwarded within 20 s");
                    Thread.sleep(1);
                }
                assertThat(TcpCounters.of(source).since(sourceBefore, "OutRsts")).as("resets from the source for a late segment").isZero();

                // Read to the end before waiting for the sender: with this side not reading, the sender can block in a
                // full window and never see the flag (a fresh-clone run hung here).
                sending.set(false);
                while (true) {
                    if (Libc.poll(serverFd, Libc.POLLIN, 30_000) == 0) fail("server: nothing to read for 30 s at " + received);
                    int n = Libc.recv(serverFd, buf, 0, buf.length, 0);
                    if (n == 0) break;
                    assertThat(NumberedStream.firstMismatch(buf, n, received, NumberedStream.CLIENT_TO_SERVER)).as("first byte that differs").isEqualTo(-1);
                    received += n;
                }
                long total = sent.get();
                Libc.shutdown(serverFd, Libc.SHUT_WR);
                assertThat(received).as("bytes the servers read and checked").isEqualTo(total);
                assertThat(clientReceived.get()).as("bytes the client read and checked").isEqualTo(serverSent);

                TcpCounters clientAfter = TcpCounters.of(client);
                // The flow comes back to the last source, as in a ping-pong: the hold there replaces the forwarding and
                // counts what it had sent on (the injected segment at least), with no separate end of forwarding.
                long forwarded = sourcePlane.hold(flow);
                assertThat(forwarded).as("segments forwarded by the last source, as the hold replacing it counts them")
                        .isGreaterThan(forwardedBefore);
                assertThat(sourcePlane.forwarded(flow)).as("forwarding left after the hold").isEqualTo(-1);
                assertThat(sourcePlane.held(flow)).as("the flow held at the last source").isPresent();
                sourcePlane.discard(flow); // the lb routes the flow elsewhere: nothing of it is due here
                assertThat(sourcePlane.held(flow)).as("the flow held at the last source after the discard").isEmpty();
                System.out.printf("live move: %d moves, %d bytes client->server, %d server->client, %d packets held, "
                                + "%d forwarded by the last source (1 injected), %d by the sources before it, as their "
                                + "holds counted them; %d hand-over timeouts; client RetransSegs +%d%n",
                        moves, total, serverSent, holdPackets, forwarded, replacedForwarding,
                        planes[0].handoffTimeouts() + planes[1].handoffTimeouts(), clientAfter.since(clientBefore, "RetransSegs"));
                assertThat(clientAfter.since(clientBefore, "EstabResets")).as("client connections reset").isZero();
                for (int i = 0; i < 2; i++) {
                    assertThat(TcpCounters.of(servers[i]).since(serversBefore[i], "OutRsts")).as("resets sent by s" + (i + 1)).isZero();
                }
            } finally {
                sending.set(false);
                Libc.closeQuietly(clientFd);
                Libc.closeQuietly(serverFd);
                Libc.closeQuietly(listener);
                threads.shutdownNow();
                for (HoldPlane p : planes) if (p != null) p.close();
            }
        }
    }

    /**
     * Sends one TCP segment of the flow (a bare ACK, sequence numbers long acknowledged: the target
     * answers it with a duplicate ACK at most) from the lb straight onto its link to {@code server},
     * through a packet socket, whatever the lb's routes say.
     */
    private static void injectFromLb(Host lb, Host server, FlowTuple flow) throws Exception {
        byte[] dstMac = mac(server.exec("cat", "/sys/class/net/" + server.linkToLb() + "/address").stdout());
        byte[] srcMac = mac(lb.exec("cat", "/sys/class/net/" + server.lbSideInterface() + "/address").stdout());
        byte[] src = flow.remote().getAddress().getAddress(), dst = flow.local().getAddress().getAddress();
        java.nio.ByteBuffer tcp = java.nio.ByteBuffer.allocate(20)
                .putShort((short) flow.remote().getPort()).putShort((short) flow.local().getPort())
                .putInt(1).putInt(1).put((byte) 0x50).put((byte) 0x10).putShort((short) 0xffff).putShort((short) 0).putShort((short) 0);
        java.nio.ByteBuffer pseudo = java.nio.ByteBuffer.allocate(12 + 20).put(src).put(dst).put((byte) 0).put((byte) 6).putShort((short) 20)
                .put(tcp.array());
        tcp.putShort(16, checksum(pseudo.array()));
        java.nio.ByteBuffer ip = java.nio.ByteBuffer.allocate(20).put((byte) 0x45).put((byte) 0).putShort((short) 40).putShort((short) 0)
                .putShort((short) 0x4000).put((byte) 64).put((byte) 6).putShort((short) 0).put(src).put(dst);
        ip.putShort(10, checksum(ip.array()));
        java.nio.ByteBuffer frame = java.nio.ByteBuffer.allocate(14 + 40).put(dstMac).put(srcMac).putShort((short) 0x0800)
                .put(ip.array()).put(tcp.array());
        lb.exec("python3", "-c", "import socket,sys; s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); "
                + "s.bind((sys.argv[1], 0)); s.send(bytes.fromhex(sys.argv[2]))", server.lbSideInterface(), java.util.HexFormat.of().formatHex(frame.array()));
    }

    private static byte[] mac(String text) {
        return java.util.HexFormat.ofDelimiter(":").parseHex(text.strip());
    }

    private static short checksum(byte[] data) {
        long sum = 0;
        for (int i = 0; i + 1 < data.length; i += 2) sum += ((data[i] & 0xff) << 8) | (data[i + 1] & 0xff);
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (short) ~sum;
    }
}
