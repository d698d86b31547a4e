package io.socketlauncher.repair;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A testbed (client c1, servers s1 and s2 both owning the service address on lo, lb routing it to one
 * of them) and the moves the tests make: a per-flow DROP on both servers keeps the client's segments
 * (and the resets they would cause) away while the socket is dumped on one server and restored on the
 * other; the client retransmits afterwards.
 */
final class MoveBed implements AutoCloseable {
    private static final AtomicInteger NEXT_PORT = new AtomicInteger(7100);

    final Testbed testbed;
    final Host client, s1, s2, lb;

    /** One connection: the client's fd in c1 and the server's fd, on whichever server holds it now. */
    static final class Flow {
        final int clientFd;
        int serverFd;
        Host server;
        final InetSocketAddress clientAddress;
        final InetSocketAddress serviceAddress;

        Flow(int clientFd, int serverFd, Host server, InetSocketAddress clientAddress, InetSocketAddress serviceAddress) {
            this.clientFd = clientFd;
            this.serverFd = serverFd;
            this.server = server;
            this.clientAddress = clientAddress;
            this.serviceAddress = serviceAddress;
        }

        void close() {
            Libc.closeQuietly(clientFd);
            Libc.closeQuietly(serverFd);
        }
    }

    /** Options a test applies to a socket before it connects (client) or listens (server). */
    interface SocketSetup {
        void apply(int fd) throws NativeException;
    }

    MoveBed() throws IOException {
        testbed = Testbed.builder().clients(1).servers(2).build();
        try {
            client = testbed.client(1);
            s1 = testbed.server(1);
            s2 = testbed.server(2);
            lb = testbed.lb();
            String vip = testbed.serviceAddress().getHostAddress();
            String vip6 = testbed.serviceAddress6().getHostAddress();
            for (Host s : new Host[] {s1, s2}) {
                s.exec("ip", "addr", "add", vip + "/32", "dev", "lo");
                s.exec("ip", "-6", "addr", "add", vip6 + "/128", "dev", "lo", "nodad");
            }
            routeTo(s1);
        } catch (IOException | RuntimeException e) {
            testbed.close();
            throw e;
        }
    }

    void routeTo(Host server) throws IOException {
        lb.exec("ip", "route", "replace", testbed.serviceAddress().getHostAddress() + "/32", "via", server.address().getHostAddress());
        lb.exec("ip", "-6", "route", "replace", testbed.serviceAddress6().getHostAddress() + "/128", "via", server.address6().getHostAddress());
    }

    /** Writes a per-namespace sysctl (net.*) of one host, e.g. {@code sysctl(client, "net/ipv4/tcp_sack", "0")}. */
    void sysctl(Host host, String key, String value) throws Exception {
        host.namespace().call(() -> {
            Files.writeString(Path.of("/proc/sys", key), value);
            return null;
        });
    }

    Flow connect(SocketSetup clientSetup, SocketSetup serverSetup) throws Exception {
        return connect(false, clientSetup, serverSetup);
    }

    Flow connect(boolean ipv6, SocketSetup clientSetup, SocketSetup serverSetup) throws Exception {
        routeTo(s1);
        int family = ipv6 ? Libc.AF_INET6 : Libc.AF_INET;
        InetSocketAddress service = new InetSocketAddress(ipv6 ? testbed.serviceAddress6() : testbed.serviceAddress(),
                NEXT_PORT.getAndIncrement());
        int listener = s1.namespace().call(() -> {
            int fd = Libc.socket(family, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1);
            serverSetup.apply(fd);
            Libc.bind(fd, service);
            Libc.listen(fd, 4);
            return fd;
        });
        try {
            int clientFd = client.namespace().call(() -> {
                int fd = Libc.socket(family, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
                clientSetup.apply(fd);
                Libc.connect(fd, service);
                return fd;
            });
            int serverFd = Libc.accept(listener, Libc.SOCK_CLOEXEC);
            return new Flow(clientFd, serverFd, s1, Libc.getsockname(clientFd), service);
        } finally {
            Libc.closeQuietly(listener);
        }
    }

    Flow connect() throws Exception {
        return connect(fd -> {}, fd -> {});
    }

    void drop(Host server, Flow flow, boolean on) throws IOException {
        boolean v6 = flow.serviceAddress.getAddress() instanceof java.net.Inet6Address;
        server.exec(v6 ? "ip6tables" : "iptables", on ? "-I" : "-D", "INPUT", "-p", "tcp",
                "-s", flow.clientAddress.getAddress().getHostAddress(), "--sport", Integer.toString(flow.clientAddress.getPort()),
                "-d", flow.serviceAddress.getAddress().getHostAddress(), "--dport", Integer.toString(flow.serviceAddress.getPort()),
                "!", "-i", "lo", "-j", "DROP");
    }

    /** Moves the flow's server socket to the other server; returns the state that travelled (through the codec). */
    TcpState move(Flow flow) throws Exception {
        Host from = flow.server;
        Host to = from == s1 ? s2 : s1;
        drop(from, flow, true);
        drop(to, flow, true);
        try {
            return moveHeld(flow, to);
        } finally {
            drop(to, flow, false);
            drop(from, flow, false);
        }
    }

    /** The move itself, for a test that already holds the flow's packets back. */
    TcpState moveHeld(Flow flow, Host to) throws Exception {
        TcpState captured = TcpRepair.capture(flow.serverFd);
        Libc.close(flow.serverFd);
        flow.serverFd = -1;
        byte[] wire = TcpStateCodec.encode(captured);
        routeTo(to);
        TcpState state = TcpStateCodec.decode(wire);
        flow.serverFd = to.namespace().call(() -> TcpRepair.restore(state, true));
        flow.server = to;
        return state;
    }

    @Override
    public void close() {
        testbed.close();
    }
}
