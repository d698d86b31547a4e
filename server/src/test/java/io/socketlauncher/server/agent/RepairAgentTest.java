package io.socketlauncher.server.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.repair.TcpStateCodec;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.server.migration.DepartureException;
import io.socketlauncher.server.migration.MigrationTimeouts;
import io.socketlauncher.server.migration.SocketRepair;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.UnixSockets;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.LoopbackPair;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.Testbed;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RepairAgentTest {
    private static final int NOBODY = 65534;

    private Path dir;

    @BeforeEach
    void makeDirectory() throws IOException {
        dir = Files.createTempDirectory("sl-agent-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void removeDirectory() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    @Test
    void anUnprivilegedApplicationMovesItsConnectionThroughTheAgent() throws Exception {
        try (Testbed testbed = Testbed.builder().clients(1).servers(1).build()) {
            Host host = testbed.server(1);
            Path socket = dir.resolve("agent.sock");
            try (RepairAgent agent = RepairAgent.start(socket, PosixFilePermissions.fromString("rw-rw-rw-"), host.namespace().threadFactory())) {
                // The peer sits on the client host, so the connection crosses the testbed's veths (MSS 1448).
                Host peerHost = testbed.client(1);
                int listener = peerHost.namespace().call(() -> {
                    int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                    Libc.bind(fd, new InetSocketAddress(peerHost.address(), 0));
                    Libc.listen(fd, 4);
                    return fd;
                });
                int peer = -1;
                Process app = null;
                try {
                    List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                            "-XX:-UsePerfData", "-cp", readableClassPath(), UnprivilegedMover.class.getName(), socket.toString(),
                            peerHost.address().getHostAddress(), Integer.toString(Libc.getsockname(listener).getPort())));
                    app = host.startWithOutput(command.toArray(String[]::new));
                    assertThat(Libc.poll(listener, Libc.POLLIN, 60_000)).as("the application connects within 60 s").isNotZero();
                    peer = Libc.accept(listener, Libc.SOCK_CLOEXEC);

                    int chunk = UnprivilegedMover.CHUNK;
                    Libc.sendFully(peer, NumberedStream.pattern(0, chunk, NumberedStream.SERVER_TO_CLIENT), 0, chunk);
                    NumberedStream.expect(peer, 0, chunk, NumberedStream.CLIENT_TO_SERVER);
                    // The application moves its socket now; the next bytes come from the restored one.
                    NumberedStream.expect(peer, chunk, chunk, NumberedStream.CLIENT_TO_SERVER);
                    Libc.sendFully(peer, NumberedStream.pattern(chunk, chunk, NumberedStream.SERVER_TO_CLIENT), 0, chunk);
                    Libc.shutdown(peer, Libc.SHUT_WR);

                    assertThat(app.waitFor(60, TimeUnit.SECONDS)).as("the application finishes within 60 s").isTrue();
                    String output = new String(app.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                            + new String(app.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                    System.out.println("unprivileged application:\n" + output);
                    assertThat(output).contains("TCP_REPAIR EPERM").contains("MOVED").contains("OK");
                    assertThat(app.exitValue()).as("exit status").isZero();
                } finally {
                    Libc.closeQuietly(peer);
                    Libc.closeQuietly(listener);
                    if (app != null && app.waitFor(10, TimeUnit.SECONDS) && app.exitValue() != 0) {
                        System.out.println("unprivileged application failed:\n" + new String(app.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                                + new String(app.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
                    }
                }
            }
            assertThat(socket).as("socket file after the agent closed").doesNotExist();
        }
    }

    @Test
    void connectionsPastTheLimitAreRefusedWithTheReason() throws Exception {
        Path socket = dir.resolve("agent.sock");
        try (RepairAgent agent = RepairAgent.start(socket, PosixFilePermissions.fromString("rw-------"), Thread.ofPlatform().daemon().factory());
             RepairAgentClient first = RepairAgentClient.connect(socket);
             RepairAgentClient second = RepairAgentClient.connect(socket)) {
            agent.maxConnections(2);
            // The accept loop takes connections in order: by the third, the first two are counted.
            int third = UnixSockets.socket();
            try {
                UnixSockets.connect(third, socket.toString());
                // Served instead (no limit), it would wait for a request: no reply would come.
                assertThat(Libc.poll(third, Libc.POLLIN, 10_000) & Libc.POLLIN).as("a refusal within 10 s").isNotZero();
                AgentProtocol.Frame reply = AgentProtocol.receive(third);
                assertThat(reply.type()).isEqualTo(AgentProtocol.Type.ERROR);
                assertThat(AgentProtocol.error(reply.body()).getMessage()).isEqualTo("repair agent: already serves 2 connections, its limit");
                assertThat(AgentProtocol.receive(third)).as("closed after the refusal").isNull();
            } finally {
                Libc.closeQuietly(third);
            }
            // The two within the limit are served.
            try (LoopbackPair pair = LoopbackPair.open()) {
                assertThat(TcpStateCodec.decode(second.dump(pair.client())).remote()).isNotNull();
            }
        }
    }

    @Test
    void garbageAndMisusedFramesGetAPreciseError() throws Exception {
        Path socket = dir.resolve("agent.sock");
        try (RepairAgent agent = RepairAgent.start(socket, PosixFilePermissions.fromString("rw-------"), Thread.ofPlatform().daemon().factory())) {
            assertThat(errorFor(socket, "GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII))).contains("bad magic");
            byte[] huge = ByteBuffer.allocate(AgentProtocol.HEADER_LENGTH).putInt(AgentProtocol.MAGIC).put((byte) AgentProtocol.VERSION).put((byte) 3)
                    .putShort((short) 0).putInt(-1).array();
            assertThat(errorFor(socket, huge)).contains("exceeds");
            byte[] future = ByteBuffer.allocate(AgentProtocol.HEADER_LENGTH).putInt(AgentProtocol.MAGIC).put((byte) 9).put((byte) 3)
                    .putShort((short) 0).putInt(0).array();
            assertThat(errorFor(socket, future)).contains("unsupported protocol version 9");
            byte[] dumpWithoutSocket = ByteBuffer.allocate(AgentProtocol.HEADER_LENGTH).putInt(AgentProtocol.MAGIC).put((byte) AgentProtocol.VERSION).put((byte) 1)
                    .putShort((short) 0).putInt(0).array();
            assertThat(errorFor(socket, dumpWithoutSocket)).contains("DUMP came without its socket");

            try (RepairAgentClient client = RepairAgentClient.connect(socket)) {
                assertThatThrownBy(() -> client.restore(new byte[] {1, 2, 3})).hasMessageContaining("malformed TCP state");
                // A socket that is no TCP connection: the agent reports the failed call and the client stays usable.
                int udp = Libc.socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
                try {
                    assertThatThrownBy(() -> client.dump(udp)).isInstanceOfSatisfying(AgentProtocol.AgentErrorException.class,
                            e -> assertThat(e.errno()).isNotZero());
                } finally {
                    Libc.closeQuietly(udp);
                }
                assertThatThrownBy(() -> client.restore(new byte[] {1})).hasMessageContaining("malformed TCP state");
                try (LoopbackPair pair = LoopbackPair.open()) {
                    TcpState state = TcpStateCodec.decode(client.dump(pair.client()));
                    assertThatThrownBy(() -> client.restoreAndRelease(new FlowTuple(state.remote(), state.local()), state))
                            .hasMessageContaining("runs no hold plane: RESTORE_RELEASE refused");
                }
            }
        }
    }

    @Test
    void aDumpedConnectionResumesWhereItWas() throws Exception {
        Path socket = dir.resolve("agent.sock");
        try (LoopbackPair pair = LoopbackPair.open();
             RepairAgent agent = RepairAgent.start(socket, PosixFilePermissions.fromString("rw-------"), Thread.ofPlatform().daemon().factory());
             RepairAgentClient client = RepairAgentClient.connect(socket)) {
            int a = pair.client(), b = pair.server();
            Libc.sendFully(b, NumberedStream.pattern(0, 100, NumberedStream.SERVER_TO_CLIENT), 0, 100);
            while (Libc.ioctlInt(a, Libc.SIOCINQ) < 100) Thread.sleep(1);

            byte[] state = client.dump(a);
            assertThat(state.length).as("state bytes").isGreaterThan(100);
            client.resume(a);

            NumberedStream.expect(a, 0, 100, NumberedStream.SERVER_TO_CLIENT);
            Libc.sendFully(a, NumberedStream.pattern(0, 100, NumberedStream.CLIENT_TO_SERVER), 0, 100);
            NumberedStream.expect(b, 0, 100, NumberedStream.CLIENT_TO_SERVER);
        }
    }

    @Test
    void aRestoreThatWouldReleaseAnotherFlowIsRefused() throws Exception {
        withHoldPlaneAgent((testbed, host, socket, pair) -> {
            try (RepairAgentClient client = RepairAgentClient.connect(socket)) {
                TcpState state = TcpStateCodec.decode(client.dump(pair.client()));
                FlowTuple other = new FlowTuple(new InetSocketAddress(testbed.client(1).address(), 40_000),
                        new InetSocketAddress(host.address(), 7200));
                assertThatThrownBy(() -> client.restoreAndRelease(other, state))
                        .hasMessageContaining("RESTORE_RELEASE: the state is of").hasMessageContaining("the hold to release of " + other);
            }
        });
    }

    @Test
    void aDepartForwardsDrainsAndDumpsInOneExchangeAndAFailedStepSaysWhich() throws Exception {
        withHoldPlaneAgent((testbed, host, socket, pair) -> {
            int a = pair.client(), b = pair.server();
            int udp = Libc.socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
            int listener = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            InetAddress target = testbed.client(1).address();
            long quiet = 100_000, max = 10_000_000;
            try (AgentPrivileges privileges = AgentPrivileges.connect(socket)) {
                // Each failed step is named, and the one pooled connection to the agent serves every request after it.
                FlowTuple udpFlow = new FlowTuple(new InetSocketAddress(target, 40_001), new InetSocketAddress(host.address(), 7201));
                assertThatThrownBy(() -> privileges.depart(udp, privileges, udpFlow, target, -1, quiet, max, false))
                        .isInstanceOfSatisfying(DepartureException.class, e -> assertThat(e.step()).isEqualTo(DepartureException.Step.DRAIN))
                        .hasMessageContaining("repair agent:").hasMessageContaining("errno");
                assertThat(privileges.stopForwarding(udpFlow)).as("the forwarding the failed departure left in place").isZero();
                Libc.bind(listener, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                Libc.listen(listener, 1);
                FlowTuple listening = new FlowTuple(new InetSocketAddress(target, 40_002), Libc.getsockname(listener));
                assertThatThrownBy(() -> privileges.depart(listener, privileges, listening, target, -1, quiet, max, false))
                        .isInstanceOfSatisfying(DepartureException.class, e -> assertThat(e.step()).isEqualTo(DepartureException.Step.CAPTURE))
                        .hasMessageContaining("errno");
                privileges.stopForwarding(listening);
                assertThatThrownBy(() -> privileges.depart(a, privileges, listening, target, -1, quiet, MigrationTimeouts.MAX_DRAIN.toNanos() + 1, false))
                        .isInstanceOfSatisfying(DepartureException.class, e -> assertThat(e.step()).isEqualTo(DepartureException.Step.FORWARD))
                        .hasMessageContaining("DEPART: drain bounds");
                assertThat(privileges.stopForwarding(listening)).as("nothing forwarded for refused bounds").isEqualTo(-1);

                Libc.sendFully(b, NumberedStream.pattern(0, 100, NumberedStream.SERVER_TO_CLIENT), 0, 100);
                while (Libc.ioctlInt(a, Libc.SIOCINQ) < 100) Thread.sleep(1);
                FlowTuple flow = new FlowTuple(Libc.getpeername(a), Libc.getsockname(a));
                SocketRepair.Departure departure = privileges.depart(a, privileges, flow, target, -1, quiet, max, false);
                assertThat(departure.state().receiveQueue()).as("the queue the dump found")
                        .isEqualTo(NumberedStream.pattern(0, 100, NumberedStream.SERVER_TO_CLIENT));
                assertThat(departure.drainNanos()).as("uncounted, the drain waited for quiet").isGreaterThanOrEqualTo(quiet);
                assertThat(privileges.stopForwarding(flow)).as("the flow was being forwarded").isZero();

                privileges.resume(a);
                NumberedStream.expect(a, 0, 100, NumberedStream.SERVER_TO_CLIENT);
                Libc.sendFully(a, NumberedStream.pattern(0, 100, NumberedStream.CLIENT_TO_SERVER), 0, 100);
                NumberedStream.expect(b, 0, 100, NumberedStream.CLIENT_TO_SERVER);

                // Forwarding alone, as a plane that is not the agent's own would do it.
                assertThat(privileges.forward(flow, target)).as("segments counted: none, the flow was not counted").isEqualTo(-1);
                assertThat(privileges.stopForwarding(flow)).as("FORWARD installed the forwarding").isZero();
                // A flow coming back: HOLD replaces its forwarding in the same exchange and says what that had sent on
                // (nothing: a loopback flow never passes the plane); a second HOLD is refused as such, not as a count.
                privileges.forward(flow, target);
                assertThat(privileges.hold(flow)).as("a hold replacing the forwarding").isZero();
                assertThat(privileges.hold(flow)).as("a second hold").isEqualTo(-1);
                assertThat(privileges.discard(flow)).as("packets held").isZero();
                assertThat(privileges.stopForwarding(flow)).as("forwarding left after the hold").isEqualTo(-1);
                // A hold handed back becomes a forwarding to the source in one exchange; a flow not held can't be.
                assertThat(privileges.hold(flow)).isZero();
                assertThat(privileges.handBack(flow, target)).as("packets held, now dropped").isZero();
                assertThat(privileges.stopForwarding(flow)).as("HAND_BACK installed a forwarding").isZero();
                assertThatThrownBy(() -> privileges.handBack(flow, target)).hasMessageContaining("is not held");

                // A body the agent won't act on: refused by name, before any step.
                byte[] badFamily = AgentProtocol.depart(new AgentProtocol.Depart(flow, target, -1, quiet, max));
                badFamily[FlowTuple.SIZE] = 5;
                assertThat(departFailedFor(socket, badFamily, a)).contains("DEPART: bad address (family 5");
            } finally {
                Libc.closeQuietly(udp);
                Libc.closeQuietly(listener);
            }
        });
    }

    @Test
    @Timeout(60) // a relay that failed would leave the agent's client waiting for an answer
    void aDepartWhoseAnswerIsLostLeavesTheSocketOutOfRepairMode() throws Exception {
        withHoldPlaneAgent((testbed, host, socket, pair) -> {
            int a = pair.client(), b = pair.server();
            InetAddress target = testbed.client(1).address();
            try (LosingRelay relay = new LosingRelay(dir.resolve("relay.sock"), socket);
                 AgentPrivileges privileges = AgentPrivileges.connect(relay.path)) { // closed first, then the relay
                Libc.sendFully(b, NumberedStream.pattern(0, 100, NumberedStream.SERVER_TO_CLIENT), 0, 100);
                while (Libc.ioctlInt(a, Libc.SIOCINQ) < 100) Thread.sleep(1);
                FlowTuple flow = new FlowTuple(Libc.getpeername(a), Libc.getsockname(a));
                // The agent forwards, drains and captures, and its DEPARTED is lost with the connection: the outcome is
                // unknown to the application, so the socket must come out of repair mode whatever the agent did.
                assertThatThrownBy(() -> privileges.depart(a, privileges, flow, target, -1, 100_000, 10_000_000, false))
                        .isInstanceOfSatisfying(DepartureException.class, e -> assertThat(e.step()).isEqualTo(DepartureException.Step.CAPTURE))
                        .hasMessageContaining("repair agent:");
                assertThat(relay.lost).as("the agent had answered DEPARTED, and the relay dropped it").isTrue();
                assertThat(privileges.stopForwarding(flow)).as("the agent had forwarded the flow").isZero();

                NumberedStream.expect(a, 0, 100, NumberedStream.SERVER_TO_CLIENT);
                Libc.sendFully(a, NumberedStream.pattern(0, 100, NumberedStream.CLIENT_TO_SERVER), 0, 100);
                NumberedStream.expect(b, 0, 100, NumberedStream.CLIENT_TO_SERVER);
            }
        });
    }

    /**
     * Passes the agent's frames, and the sockets they carry, between its clients and the agent, but drops the first
     * DEPARTED and hangs up on both sides instead: an agent that dies after the capture, as its client sees it.
     */
    private static final class LosingRelay implements AutoCloseable {
        final Path path;
        private final Path agent;
        private final int listener;
        private final Thread acceptor;
        private final List<Thread> relays = new ArrayList<>();
        private volatile boolean closed;
        private volatile IOException failure;
        volatile boolean lost;

        LosingRelay(Path path, Path agent) throws IOException {
            this.path = path;
            this.agent = agent;
            listener = UnixSockets.socket();
            UnixSockets.bind(listener, path.toString());
            Libc.listen(listener, 8);
            acceptor = Thread.ofPlatform().daemon().start(this::accept);
        }

        private void accept() {
            try {
                while (!closed) {
                    if ((Libc.poll(listener, Libc.POLLIN, 50) & Libc.POLLIN) == 0) continue;
                    int client = Libc.accept(listener, Libc.SOCK_CLOEXEC);
                    int upstream = UnixSockets.socket();
                    try {
                        UnixSockets.connect(upstream, agent.toString());
                    } catch (IOException e) {
                        Libc.closeQuietly(client); // the client sees the end at once rather than waiting forever
                        Libc.closeQuietly(upstream);
                        throw e;
                    }
                    synchronized (relays) {
                        relays.add(Thread.ofPlatform().daemon().start(() -> relay(client, upstream)));
                    }
                }
            } catch (IOException e) {
                if (!closed) failure = e;
            }
        }

        private void relay(int client, int upstream) {
            try {
                for (AgentProtocol.Frame request; (request = AgentProtocol.receive(client)) != null; ) {
                    pass(upstream, request);
                    AgentProtocol.Frame reply = AgentProtocol.receive(upstream);
                    if (reply == null) break;
                    if (reply.type() == AgentProtocol.Type.DEPARTED && !lost) {
                        lost = true;
                        break;
                    }
                    pass(client, reply);
                }
            } catch (IOException e) {
                // one side hung up: so does the relay
            } finally {
                Libc.closeQuietly(client);
                Libc.closeQuietly(upstream);
            }
        }

        private static void pass(int to, AgentProtocol.Frame frame) throws IOException {
            try {
                AgentProtocol.send(to, frame.type(), frame.body(), frame.fd());
            } finally {
                if (frame.fd() >= 0) Libc.closeQuietly(frame.fd());
            }
        }

        /** After its clients: each relay ends when its client hangs up. */
        @Override
        public void close() throws Exception {
            closed = true;
            acceptor.join(5_000);
            Libc.closeQuietly(listener);
            synchronized (relays) {
                for (Thread t : relays) {
                    t.join(5_000);
                    assertThat(t.isAlive()).as("a relay whose client hung up").isFalse();
                }
            }
            if (failure != null) throw new IllegalStateException("the relay failed", failure);
        }
    }

    @FunctionalInterface
    private interface HoldPlaneAgentTest {
        void run(Testbed testbed, Host host, Path agentSocket, LoopbackPair loopbackPair) throws Exception;
    }

    /** An agent with a hold plane on a one-server testbed, and a loopback connection; all of it gone afterwards. */
    private void withHoldPlaneAgent(HoldPlaneAgentTest test) throws Exception {
        try (Testbed testbed = Testbed.builder().clients(1).servers(1).build()) {
            Host host = testbed.server(1);
            Path socket = dir.resolve("agent.sock");
            HoldPlane plane = HoldPlane.start(host.namespace(), host.linkToLb(), "slhold");
            try {
                try (LoopbackPair pair = LoopbackPair.open();
                     RepairAgent agent = RepairAgent.start(socket, PosixFilePermissions.fromString("rw-------"), host.namespace().threadFactory(), plane)) {
                    test.run(testbed, host, socket, pair);
                }
            } finally {
                plane.close();
            }
        }
    }

    /** Sends a DEPART with {@code body} and the socket {@code fd}; returns the message of its DEPART_FAILED (step FORWARD). */
    private static String departFailedFor(Path socket, byte[] body, int fd) throws Exception {
        int unix = UnixSockets.socket();
        try {
            UnixSockets.connect(unix, socket.toString());
            AgentProtocol.send(unix, AgentProtocol.Type.DEPART, body, fd);
            AgentProtocol.Frame reply = AgentProtocol.receive(unix);
            assertThat(reply).isNotNull();
            assertThat(reply.type()).isEqualTo(AgentProtocol.Type.DEPART_FAILED);
            DepartureException e = AgentProtocol.departFailed(reply.body());
            assertThat(e.step()).isEqualTo(DepartureException.Step.FORWARD);
            return e.getMessage();
        } finally {
            Libc.closeQuietly(unix);
        }
    }

    /** Sends raw bytes to the agent and returns the message of its ERROR reply. */
    private static String errorFor(Path socket, byte[] raw) throws Exception {
        int fd = UnixSockets.socket();
        try {
            UnixSockets.connect(fd, socket.toString());
            Libc.sendFully(fd, raw, 0, raw.length);
            AgentProtocol.Frame reply = AgentProtocol.receive(fd);
            assertThat(reply).isNotNull();
            assertThat(reply.type()).isEqualTo(AgentProtocol.Type.ERROR);
            String message = AgentProtocol.error(reply.body()).getMessage();
            assertThat(AgentProtocol.receive(fd)).as("the agent hangs up after garbage").isNull();
            return message;
        } finally {
            Libc.closeQuietly(fd);
        }
    }

    /** The test's own classes and the project's jars, copied where an unprivileged user can read them. */
    private String readableClassPath() throws IOException {
        List<String> entries = new ArrayList<>();
        Path classes = Files.createDirectories(dir.resolve("classpath"));
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path source = Path.of(entry);
            Path target = classes.resolve("cp" + n++ + (entry.endsWith(".jar") ? ".jar" : ""));
            if (Files.isDirectory(source) && (entry.contains("server"))) {
                try (Stream<Path> files = Files.walk(source)) {
                    for (Path p : files.toList()) {
                        Path copy = target.resolve(source.relativize(p).toString());
                        if (Files.isDirectory(p)) Files.createDirectories(copy);
                        else Files.copy(p, copy);
                    }
                }
                entries.add(target.toString());
            } else if (source.getFileName().toString().startsWith("launcher-") && entry.endsWith(".jar")) {
                Files.copy(source, target);
                entries.add(target.toString());
            }
        }
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path p : files.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return String.join(File.pathSeparator, entries);
    }
}
