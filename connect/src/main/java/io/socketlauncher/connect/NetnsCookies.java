package io.socketlauncher.connect;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.sys.NetworkNamespace;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Network namespaces by cookie (SO_NETNS_COOKIE, the value bpf_get_netns_cookie gives the hooks) and
 * back. Services are keyed by cookie; people name namespaces by their /var/run/netns name.
 */
final class NetnsCookies {
    private static final int SO_NETNS_COOKIE = 71;
    private static final Path NETNS_DIR = Path.of("/var/run/netns");
    private final Map<String, Long> byName = new HashMap<>();

    /** "" is the namespace of the calling thread. */
    long cookieOf(String netns) throws IOException {
        Long cached = byName.get(netns);
        if (cached != null) return cached;
        long cookie;
        if (netns.isEmpty()) {
            cookie = currentCookie();
        } else {
            if (!Files.exists(NETNS_DIR.resolve(Config.parseNetns(netns)))) {
                throw new IllegalArgumentException("no network namespace " + netns + " (" + NETNS_DIR.resolve(netns) + ")");
            }
            try {
                cookie = NetworkNamespace.named(netns).call(NetnsCookies::currentCookie);
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException("cannot read the cookie of network namespace " + netns, e);
            }
        }
        byName.put(netns, cookie);
        return cookie;
    }

    /** The name of a namespace by cookie: "" for the caller's own, else its /var/run/netns name. */
    String nameOf(long cookie) throws IOException {
        if (cookie == cookieOf("")) return "";
        for (Map.Entry<String, Long> e : byName.entrySet()) if (e.getValue() == cookie) return e.getKey();
        if (Files.isDirectory(NETNS_DIR)) {
            try (Stream<Path> names = Files.list(NETNS_DIR)) {
                for (Path p : names.toList()) {
                    String name = p.getFileName().toString();
                    try {
                        if (cookieOf(name) == cookie) return name;
                    } catch (IOException | IllegalArgumentException e) {
                        // a namespace that vanished or cannot be entered is not the one we look for
                    }
                }
            }
        }
        throw new IllegalStateException("a service belongs to a network namespace (cookie " + cookie
                + ") that is neither this one nor named in " + NETNS_DIR);
    }

    private static long currentCookie() throws NativeException {
        int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        try {
            byte[] raw = Libc.getsockopt(fd, Libc.SOL_SOCKET, SO_NETNS_COOKIE, 8);
            return ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()).getLong();
        } finally {
            Libc.closeQuietly(fd);
        }
    }
}
