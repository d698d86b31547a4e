package io.socketlauncher.cluster;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.sys.NetworkNamespace;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A migration target in a process of its own, so that {@link KilledTargetTest} can kill it for real
 * ({@code kill -9}) in the middle of a migration. Args: namespace, server id, own address, service address, service
 * port, proxy control address, control port, key (hex). Prints READY once it serves; keeps every connection it gets.
 */
public final class TargetServerMain {
    public static void main(String[] args) throws Exception {
        InetAddress self = InetAddress.getByName(args[2]);
        List<Connection> kept = new ArrayList<>();
        try (LauncherServer server = LauncherServer.builder()
                .id(args[1])
                .namespace(NetworkNamespace.named(args[0]))
                .listen(new InetSocketAddress(self, Cluster.SERVICE_PORT))
                .service(new InetSocketAddress(InetAddress.getByName(args[3]), Integer.parseInt(args[4])))
                .proxy(new InetSocketAddress(InetAddress.getByName(args[5]), Integer.parseInt(args[6])))
                .key(HexFormat.of().parseHex(args[7]))
                .timeouts(Cluster.Builder.TESTBED_TIMEOUTS)
                .agent(new InetSocketAddress(self, Cluster.AGENT_PORT))
                .build()) {
            System.out.println("READY");
            System.out.flush();
            while (true) {
                Connection c = server.accept();
                System.out.println("ARRIVED " + c);
                System.out.flush();
                kept.add(c);
            }
        }
    }
}
