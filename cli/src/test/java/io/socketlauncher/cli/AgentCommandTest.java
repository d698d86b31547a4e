package io.socketlauncher.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.repair.TcpState;
import io.socketlauncher.repair.TcpStateCodec;
import io.socketlauncher.server.agent.RepairAgentClient;
import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.UnixSockets;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.LoopbackPair;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.Testbed;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * {@code launcher agent} as an operator runs it: a process of its own in a server's namespace, serving the repair work
 * over its socket, and leaving nothing behind when it is stopped; and its refusals of bad input.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a blocked read of the agent's output must not hang the build
class AgentCommandTest {
    private static Testbed testbed;
    private static Host server;
    private static Path dir;

    @BeforeAll
    static void up() throws Exception {
        testbed = Testbed.builder().clients(1).servers(1).build();
        server = testbed.server(1);
        dir = Files.createTempDirectory("sl-agent-cli-");
    }

    @AfterAll
    static void down() throws Exception {
        if (testbed != null) testbed.close();
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    @Test
    void theAgentProcessRepairsSocketsForItsClientsAndLeavesNothingWhenStopped() throws Exception {
        Path socket = dir.resolve("agent.sock");
        int stale = UnixSockets.socket(); // an agent that died left its socket file behind
        UnixSockets.bind(stale, socket.toString());
        Libc.close(stale);
        // Without CAP_SYS_ADMIN, as the help says it needs none in the namespace it starts in (setns would take it).
        Process agent = server.startWithOutput("setpriv", "--bounding-set", "-sys_admin", "--",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Launcher.class.getName(),
                "agent", "--socket", socket.toString(), "--socket-mode", "600", "--interface", server.linkToLb(), "--tun", "slclitest");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(agent.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            assertThat(first).as("the agent's first line (stderr: %s)", first == null ? new String(agent.getErrorStream().readAllBytes()) : "")
                    .startsWith("agent running: socket " + socket + " (mode rw-------)").contains("in the network namespace it started in (TUN slclitest)");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
            assertThat(server.execAllowingFailure("ip", "link", "show", "slclitest").ok()).as("the TUN exists in the server's namespace").isTrue();
            assertThat(ingressPrograms()).as("the hold program is attached").isEqualTo(1);
            assertThat(run("agent", "--socket", socket.toString(), "--namespace", server.namespace().name(), "--interface", server.linkToLb()))
                    .as("a second agent on the same socket").isEqualTo(new Outcome(2, "--socket an agent is listening at " + socket + " already"));

            try (LoopbackPair pair = server.namespace().call(LoopbackPair::open)) {
                NumberedStream.send(pair.client(), 0, 3000, NumberedStream.CLIENT_TO_SERVER);
                awaitReceiveQueue(pair.server(), 3000);
                try (RepairAgentClient client = RepairAgentClient.connect(socket)) {
                    TcpState state = TcpStateCodec.decode(client.dump(pair.server()));
                    assertThat(state.receiveQueue()).as("the agent read the socket's queue in repair mode")
                            .isEqualTo(NumberedStream.pattern(0, 3000, NumberedStream.CLIENT_TO_SERVER));
                    client.resume(pair.server());
                }
                NumberedStream.expect(pair.server(), 0, 3000, NumberedStream.CLIENT_TO_SERVER);
                NumberedStream.send(pair.server(), 0, 5000, NumberedStream.SERVER_TO_CLIENT);
                NumberedStream.expect(pair.client(), 0, 5000, NumberedStream.SERVER_TO_CLIENT);
            }

            agent.destroy(); // SIGTERM
            assertThat(agent.waitFor(30, TimeUnit.SECONDS)).as("stopped within 30 s").isTrue();
            assertThat(Files.exists(socket)).as("socket file removed").isFalse();
            assertThat(server.execAllowingFailure("ip", "link", "show", "slclitest").ok()).as("TUN removed").isFalse();
            assertThat(ingressPrograms()).as("hold program detached").isZero();
        } finally {
            agent.destroyForcibly();
        }
    }

    @Test
    void badInputIsRefusedWithAClearMessageAndNothingIsTouched() throws Exception {
        Path regular = dir.resolve("not-a-socket");
        Files.writeString(regular, "keep me");

        assertThat(run("agent", "--socket", dir.resolve("a.sock").toString(), "--socket-mode", "66x"))
                .isEqualTo(new Outcome(2, "--socket-mode '66x' is not three octal digits (e.g. 660)"));
        assertThat(run("agent", "--socket", dir.resolve("no/such/dir/a.sock").toString()))
                .isEqualTo(new Outcome(2, "--socket " + dir.resolve("no/such/dir/a.sock") + ": directory " + dir.resolve("no/such/dir")
                        + " does not exist"));
        assertThat(run("agent", "--socket", dir.resolve("a.sock").toString(), "--namespace", "sl-no-such-netns"))
                .isEqualTo(new Outcome(2, "--namespace sl-no-such-netns: no such network namespace (see ip netns list)"));
        assertThat(run("agent", "--socket", dir.resolve("a.sock").toString(), "--namespace", server.namespace().name(), "--interface", "sl-nope"))
                .isEqualTo(new Outcome(2, "--interface sl-nope: no such interface in netns " + server.namespace().name()));
        assertThat(run("agent", "--socket", dir.resolve("a.sock").toString(), "--namespace", "a/b"))
                .isEqualTo(new Outcome(2, "--namespace: bad network namespace name: 'a/b'"));
        assertThat(run("agent", "--socket", regular.toString(), "--namespace", server.namespace().name(), "--interface", server.linkToLb(),
                "--tun", "slclitest2"))
                .isEqualTo(new Outcome(2, "--socket " + regular + " exists and is not a socket: not replacing it"));
        assertThat(Files.readString(regular)).isEqualTo("keep me");
        assertThat(server.execAllowingFailure("ip", "link", "show", "slclitest2").ok()).as("nothing was created").isFalse();
        assertThat(ingressPrograms()).as("nothing was attached").isZero();
    }

    private record Outcome(int exitCode, String firstErrorLine) {}

    /** How many programs are attached to the TCX ingress of the server's interface (nothing else attaches there). */
    private static int ingressPrograms() throws Exception {
        return server.namespace().call(() -> BpfProgram.tcxProgramIds(Libc.ifNameToIndex(server.linkToLb()), BpfProgram.TCX_INGRESS).length);
    }

    private static Outcome run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cli = Launcher.commandLine();
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(new StringWriter(), true));
        int code = cli.execute(args);
        return new Outcome(code, err.toString().lines().findFirst().orElse(""));
    }

    private static void awaitReceiveQueue(int fd, int bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Libc.ioctlInt(fd, Libc.SIOCINQ) < bytes) {
            if (System.nanoTime() > deadline) throw new AssertionError("the server socket did not receive " + bytes + " bytes");
            Thread.sleep(1);
        }
    }
}
