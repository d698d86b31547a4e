package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.agent.RepairAgent;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NetworkNamespace;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.NumberedStream;
import io.socketlauncher.testbed.TcpCounters;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The privilege split end to end: an application running as nobody, with no capability, serves a client through the
 * proxy with a LauncherServer and moves the connection to s2; every privileged step (repair, hold, forwarding) is
 * done by the node agent of its host, over a unix socket. Server s1 of the cluster shares that agent (one hold plane
 * per host) and takes no clients.
 */
class UnprivilegedMigrationTest {
    private static final int NOBODY = 65534;
    private static final int APP_PORT = 7100, APP_AGENT_PORT = 7500;

    @Test
    void anUnprivilegedApplicationMovesItsConnectionThroughTheAgent() throws Exception {
        Path dir = Files.createTempDirectory("sl-unpriv-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path socket = dir.resolve("agent.sock");
        List<AutoCloseable> agent = new ArrayList<>();
        Cluster cluster = null;
        try {
            cluster = Cluster.builder().servers(2).customize((tb, i, b) -> {
                if (i != 1) return;
                NetworkNamespace ns = tb.server(1).namespace();
                HoldPlane plane = HoldPlane.start(ns, "eth0", "slhold");
                agent.add(plane);
                agent.add(RepairAgent.start(socket, PosixFilePermissions.fromString("rw-rw-rw-"), ns.threadFactory(), plane));
                b.repairAgent(socket);
            }).build();
            run(cluster, dir, socket);
        } finally {
            try {
                if (cluster != null) for (LauncherServer s : cluster.servers()) s.close();
                for (int i = agent.size() - 1; i >= 0; i--) agent.get(i).close();
            } finally {
                if (cluster != null) cluster.close();
                try (Stream<Path> files = Files.walk(dir)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
            }
        }
    }

    private static void run(Cluster cluster, Path dir, Path socket) throws Exception {
        Host s1 = cluster.testbed().server(1);
        Host clientHost = cluster.client(1);
        InetSocketAddress appListen = new InetSocketAddress(s1.address(), APP_PORT);
        List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-XX:-UsePerfData", "-cp", readableClassPath(dir), UnprivilegedServerApp.class.getName(), socket.toString(),
                hostPort(appListen), hostPort(new InetSocketAddress(s1.address(), APP_AGENT_PORT)), hostPort(cluster.service()),
                hostPort(cluster.control()), HexFormat.of().formatHex(cluster.key()), hostPort(cluster.agentAddress(2)),
                clientHost.address().getHostAddress()));
        Process app = s1.startWithOutput(command.toArray(String[]::new));
        List<String> output = new CopyOnWriteArrayList<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) output.add(line);
            } catch (IOException ignored) {
                // the process ended
            }
        });
        awaitLine(output, app, "LISTENING");

        // New connections go to the application only.
        cluster.proxy().addBackend(cluster.service(), "u1", appListen, 1);
        cluster.proxy().setWeight("s1", 0);
        cluster.proxy().setWeight("s2", 0);
        cluster.proxy().checkHealthNow();

        TcpCounters before = TcpCounters.of(clientHost);
        int client = clientHost.namespace().call(() -> {
            int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.connect(fd, cluster.service());
            return fd;
        });
        try {
            int chunk = UnprivilegedServerApp.CHUNK;
            NumberedStream.send(client, 0, chunk, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.expect(client, 0, chunk, NumberedStream.SERVER_TO_CLIENT);
            // In flight while the application moves the connection: received by whoever serves it then.
            NumberedStream.send(client, chunk, chunk, NumberedStream.CLIENT_TO_SERVER);

            Connection arrived = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (arrived == null && System.nanoTime() < deadline) {
                Connection c = cluster.server(2).accept(Duration.ofMillis(200));
                if (c != null && c.arrivedFrom().isPresent()) arrived = c;
                else if (c != null) c.close();
            }
            assertThat(arrived).as("the connection arrived at s2; application output: %s", output).isNotNull();
            try (Connection c = arrived) {
                assertThat(c.arrivedFrom()).contains("u1");
                assertThat(c.applicationState()).isEqualTo(UnprivilegedServerApp.STATE);
                NumberedStream.expect(c.fd(), chunk, chunk, NumberedStream.CLIENT_TO_SERVER);
                NumberedStream.send(c.fd(), chunk, chunk, NumberedStream.SERVER_TO_CLIENT);
                NumberedStream.expect(client, chunk, chunk, NumberedStream.SERVER_TO_CLIENT);
            }
            assertThat(app.waitFor(60, TimeUnit.SECONDS)).as("the application finishes within 60 s").isTrue();
            String stderr = new String(app.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(app.exitValue()).as("application exit; output %s; stderr %s", output, stderr).isZero();
            assertThat(output).contains("TCP_REPAIR EPERM", "OK");
            assertThat(output).anyMatch(l -> l.startsWith("MOVED to s2"));
            assertThat(TcpCounters.of(clientHost).since(before, "EstabResets")).as("client connections reset").isZero();
        } finally {
            Libc.closeQuietly(client);
            app.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void awaitLine(List<String> output, Process app, String line) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!output.contains(line)) {
            if (!app.isAlive()) {
                throw new AssertionError("the application ended (exit " + app.exitValue() + ") before " + line + ": " + output
                        + "; stderr " + new String(app.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            if (System.nanoTime() > deadline) throw new AssertionError("no " + line + " within 60 s: " + output);
            Thread.sleep(20);
        }
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** The class path, copied where nobody may read it (the build's files may sit in root's home). */
    private static String readableClassPath(Path dir) throws IOException {
        List<String> entries = new ArrayList<>();
        Path classes = Files.createDirectories(dir.resolve("classpath"));
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path source = Path.of(entry);
            if (!Files.exists(source)) continue;
            Path target = classes.resolve("cp" + n++ + (entry.endsWith(".jar") ? ".jar" : ""));
            if (Files.isDirectory(source)) {
                try (Stream<Path> files = Files.walk(source)) {
                    for (Path p : files.toList()) {
                        Path copy = target.resolve(source.relativize(p).toString());
                        if (Files.isDirectory(p)) Files.createDirectories(copy);
                        else Files.copy(p, copy);
                    }
                }
            } else {
                Files.copy(source, target);
            }
            entries.add(target.toString());
        }
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path p : files.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return String.join(File.pathSeparator, entries);
    }
}
