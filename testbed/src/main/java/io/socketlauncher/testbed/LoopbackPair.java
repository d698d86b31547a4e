package io.socketlauncher.testbed;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/** A connected pair of TCP sockets over loopback in the calling thread's network namespace, as raw fds, for tests. */
public record LoopbackPair(int client, int server) implements AutoCloseable {
    public static LoopbackPair open() throws NativeException {
        int listener = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        try {
            Libc.bind(listener, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Libc.listen(listener, 1);
            int client = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            try {
                Libc.connect(client, Libc.getsockname(listener));
                return new LoopbackPair(client, Libc.accept(listener, Libc.SOCK_CLOEXEC));
            } catch (NativeException | RuntimeException e) {
                Libc.closeQuietly(client);
                throw e;
            }
        } finally {
            Libc.closeQuietly(listener);
        }
    }

    @Override
    public void close() {
        Libc.closeQuietly(client);
        Libc.closeQuietly(server);
    }
}
