package io.socketlauncher.cluster;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.Peer;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.sys.Errno;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.NumberedStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * Run by {@link UnprivilegedMigrationTest} as an unprivileged process inside a server's namespace: a LauncherServer
 * ("u1") that does every privileged step through the host's repair agent. It shows that it may not use TCP_REPAIR
 * itself, accepts the test client's connection, checks its first bytes and answers, then transfers the connection
 * to peer s2 with the client's next bytes in flight. One line per step on stdout; exits 0 only if all went well.
 *
 * <p>Arguments: agent socket, listen address, agent address, service address, proxy control address (each
 * {@code ip:port}), control key (hex), s2's agent address, the client's address.
 */
public final class UnprivilegedServerApp {
    static final int CHUNK = 4096;
    static final byte[] STATE = "state of u1".getBytes(StandardCharsets.US_ASCII);

    public static void main(String[] args) throws Exception {
        int probe = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        try {
            Libc.setsockopt(probe, Libc.SOL_TCP, Libc.TCP_REPAIR, Libc.TCP_REPAIR_ON);
            System.out.println("TCP_REPAIR allowed");
            System.exit(2);
        } catch (NativeException e) {
            System.out.println("TCP_REPAIR " + Errno.name(e.errno()));
        } finally {
            Libc.close(probe);
        }
        InetAddress client = InetAddress.getByName(args[7]);
        try (LauncherServer server = LauncherServer.builder()
                .id("u1")
                .listen(address(args[1]))
                .agent(address(args[2]))
                .service(address(args[3]))
                .proxy(address(args[4]))
                .key(HexFormat.of().parseHex(args[5]))
                .peer(new Peer("s2", address(args[6])))
                .repairAgent(Path.of(args[0]))
                .build()) {
            System.out.println("LISTENING");
            Connection c;
            while (true) {
                c = server.accept(Duration.ofSeconds(60));
                if (c == null) throw new IllegalStateException("no client within 60 s");
                if (c.client().getAddress().equals(client)) break;
                c.close(); // the proxy's health checks
            }
            NumberedStream.expect(c.fd(), 0, CHUNK, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.send(c.fd(), 0, CHUNK, NumberedStream.SERVER_TO_CLIENT);
            c.applicationState(STATE);
            TransferReport report = server.transfer(c, "s2").get(60, TimeUnit.SECONDS);
            System.out.println("MOVED to " + report.peer() + " in " + report.transferredNanos() / 1000 + " us");
        }
        System.out.println("OK");
    }

    private static InetSocketAddress address(String hostPort) throws Exception {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(InetAddress.getByName(hostPort.substring(0, colon)), Integer.parseInt(hostPort.substring(colon + 1)));
    }
}
