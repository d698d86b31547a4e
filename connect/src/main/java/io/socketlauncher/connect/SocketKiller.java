package io.socketlauncher.connect;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Closes the TCP connections of a service's namespace to one real server with {@code ss -K} (sock_diag
 * destroy, CONFIG_INET_DIAG_DESTROY, present on this kernel). It matches by destination, so it also
 * closes connections that reached that address:port without the balancer; in exchange it needs no
 * BPF iterator and works for sockets created before the hooks were attached.
 */
final class SocketKiller {
    private SocketKiller() {
    }

    static int closeConnectionsTo(Service service, InetSocketAddress real) throws IOException {
        if (service.protocol() != Protocol.TCP) return 0;
        List<String> command = new ArrayList<>();
        if (!service.netns().isEmpty()) command.addAll(List.of("nsenter", "--net=/var/run/netns/" + service.netns()));
        String host = real.getAddress().getHostAddress();
        int scope = host.indexOf('%');
        if (scope >= 0) host = host.substring(0, scope);
        String prefix = real.getAddress() instanceof Inet6Address ? host + "/128" : host + "/32";
        command.addAll(List.of("ss", "-K", "-H", "-t", "-n", "dst", prefix, "dport", "=", ":" + real.getPort()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " failed: " + output.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while closing connections", e);
        }
        return (int) output.lines().filter(l -> !l.isBlank()).count();
    }
}
