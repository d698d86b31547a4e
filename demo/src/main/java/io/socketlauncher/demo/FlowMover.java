package io.socketlauncher.demo;

import io.socketlauncher.repair.TcpRepair;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.repair.TcpStateCodec;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.Testbed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Moves one server-side TCP connection between testbed servers that both own the service address
 * (on lo) while lb routes that address to one of them.
 *
 * <p>Until a packet hold exists, the flow's segments are dropped on both servers during the move (a
 * per-flow iptables rule, not on lo): a segment reaching the old server after the dump, or the new one
 * before the restore, would draw a reset. The client retransmits what was dropped.
 */
public final class FlowMover implements AutoCloseable {
    private final Testbed testbed;
    private final Map<Host, ExecutorService> inNamespace = new HashMap<>();

    /** Timings of one move in nanoseconds (dump: capture, silent close, encode), and the size of what travelled. */
    public record Timings(long dumpNanos, long restoreNanos, long heldNanos, int stateBytes) {}

    /** The restored socket and the application state that travelled with it. */
    public record Moved(int fd, byte[] applicationState) {}

    public FlowMover(Testbed testbed) throws IOException {
        this.testbed = testbed;
        for (Host server : testbed.servers()) {
            inNamespace.put(server, server.namespace().executor());
            server.exec("ip", "addr", "add", testbed.serviceAddress().getHostAddress() + "/32", "dev", "lo");
        }
    }

    public void routeTo(Host server) throws IOException {
        testbed.lb().exec("ip", "route", "replace", testbed.serviceAddress().getHostAddress() + "/32",
                "via", server.address().getHostAddress());
    }

    /**
     * Moves the socket {@code fd} (on {@code from}, peer {@code client}) to {@code to}, with the
     * application's own state travelling beside it; returns the new fd. The caller must not touch
     * {@code fd} meanwhile; it is closed (silently) here.
     */
    public Moved move(int fd, byte[] applicationState, InetSocketAddress client, InetSocketAddress service, Host from,
                      Host to, Timings[] timings) throws Exception {
        long heldAt = System.nanoTime();
        dropOnBoth(from, to, client, service, true);
        try {
            long t0 = System.nanoTime();
            TcpState state = TcpRepair.capture(fd);
            Libc.close(fd);
            // One message, as it would cross the network: TCP state, then the application's own.
            ByteBuffer message = ByteBuffer.allocate(TcpStateCodec.encodedLength(state) + applicationState.length);
            TcpStateCodec.encode(state, message);
            message.put(applicationState);
            byte[] wire = message.array();
            int tcpLength = TcpStateCodec.encodedLength(state);
            long t1 = System.nanoTime();
            routeTo(to);
            long[] restoreNanos = new long[1];
            int moved = inNamespace.get(to).submit(() -> {
                long r0 = System.nanoTime();
                int newFd = TcpRepair.restore(TcpStateCodec.decode(wire, 0, tcpLength), true);
                restoreNanos[0] = System.nanoTime() - r0;
                return newFd;
            }).get(30, TimeUnit.SECONDS);
            if (timings != null) timings[0] = new Timings(t1 - t0, restoreNanos[0], 0, wire.length);
            return new Moved(moved, Arrays.copyOfRange(wire, tcpLength, wire.length));
        } finally {
            dropOnBoth(from, to, client, service, false);
            if (timings != null && timings[0] != null) {
                Timings t = timings[0];
                timings[0] = new Timings(t.dumpNanos(), t.restoreNanos(), System.nanoTime() - heldAt, t.stateBytes());
            }
        }
    }

    /** Both rules at once: each is a process to start, and the flow is held while they run. */
    private static void dropOnBoth(Host a, Host b, InetSocketAddress client, InetSocketAddress service, boolean on)
            throws IOException {
        CompletableFuture<Void> other = CompletableFuture.runAsync(() -> {
            try {
                drop(b, client, service, on);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            drop(a, client, service, on);
        } finally {
            try {
                other.join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof UncheckedIOException u) throw u.getCause();
                throw e;
            }
        }
    }

    private static void drop(Host server, InetSocketAddress client, InetSocketAddress service, boolean on) throws IOException {
        server.exec("iptables", on ? "-I" : "-D", "INPUT", "-p", "tcp",
                "-s", client.getAddress().getHostAddress(), "--sport", Integer.toString(client.getPort()),
                "-d", service.getAddress().getHostAddress(), "--dport", Integer.toString(service.getPort()),
                "!", "-i", "lo", "-j", "DROP");
    }

    @Override
    public void close() {
        inNamespace.values().forEach(ExecutorService::shutdownNow);
    }
}
