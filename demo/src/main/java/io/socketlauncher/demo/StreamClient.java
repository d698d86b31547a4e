package io.socketlauncher.demo;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.NumberedStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A client in a client namespace that asks the RESP server for the demo's numbered stream (DEMO.STREAM), then
 * sends its own numbered stream, paced, and checks every byte of the server's, until {@link #finish}: it sends a
 * FIN after its last byte and waits for the server's end of stream.
 */
final class StreamClient implements AutoCloseable {
    private static final byte[] HELLO = "DEMO.STREAM\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OK = "+OK\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final int CHUNK = 4 * 1024;

    private final int fd;
    private final InetSocketAddress local;
    private final long periodNanos;
    private final AtomicReference<String> failure = new AtomicReference<>();
    private final Thread sender, receiver;
    private volatile boolean sending = true, ended;
    private volatile long sent, received;

    StreamClient(Host host, InetSocketAddress service, long bytesPerSecond) throws Exception {
        fd = host.namespace().call(() -> {
            int s = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            try {
                Libc.setsockopt(s, Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
                Libc.connect(s, service);
                return s;
            } catch (Exception e) {
                Libc.closeQuietly(s);
                throw e;
            }
        });
        local = Libc.getsockname(fd);
        periodNanos = CHUNK * 1_000_000_000L / bytesPerSecond;
        try {
            Libc.sendFully(fd, HELLO, 0, HELLO.length);
            byte[] reply = new byte[OK.length];
            int got = 0;
            while (got < OK.length) {
                if (Libc.poll(fd, Libc.POLLIN, 30_000) == 0) throw new IOException("no reply to DEMO.STREAM in 30 s");
                int n = Libc.recv(fd, reply, got, OK.length - got, Libc.MSG_DONTWAIT);
                if (n == 0) throw new IOException("the server closed the connection instead of answering DEMO.STREAM");
                if (n > 0) got += n;
            }
            if (!Arrays.equals(reply, OK)) throw new IOException("DEMO.STREAM answered " + new String(reply, StandardCharsets.ISO_8859_1).strip());
        } catch (IOException e) {
            Libc.closeQuietly(fd);
            throw e;
        }
        sender = Thread.ofPlatform().daemon().name("stream-send-" + local.getPort()).start(this::send);
        receiver = Thread.ofPlatform().daemon().name("stream-receive-" + local.getPort()).start(this::receive);
    }

    InetSocketAddress local() {
        return local;
    }

    long sent() {
        return sent;
    }

    long received() {
        return received;
    }

    String failure() {
        return failure.get();
    }

    private void send() {
        byte[] chunk = new byte[CHUNK];
        long next = System.nanoTime();
        try {
            while (sending) {
                long now = System.nanoTime();
                if (now < next) {
                    Thread.sleep(0, (int) Math.min(999_999, next - now));
                    continue;
                }
                if ((Libc.poll(fd, Libc.POLLOUT, 10) & Libc.POLLOUT) == 0) continue;
                NumberedStream.fill(chunk, CHUNK, sent, NumberedStream.CLIENT_TO_SERVER);
                int n = Libc.send(fd, chunk, 0, CHUNK, Libc.MSG_DONTWAIT);
                if (n > 0) sent += n;
                next = Math.max(next + periodNanos, now - 100 * periodNanos);
            }
            Libc.shutdown(fd, Libc.SHUT_WR);
        } catch (Exception e) {
            failure.compareAndSet(null, "stream " + local.getPort() + " send: " + e.getMessage());
        }
    }

    private void receive() {
        byte[] buf = new byte[256 * 1024];
        try {
            while (true) {
                if ((Libc.poll(fd, Libc.POLLIN, 100) & (Libc.POLLIN | Libc.POLLHUP | Libc.POLLERR)) == 0) continue;
                int n = Libc.recv(fd, buf, 0, buf.length, Libc.MSG_DONTWAIT);
                if (n == 0) {
                    ended = true;
                    return;
                }
                if (n < 0) continue;
                long bad = NumberedStream.firstMismatch(buf, n, received, NumberedStream.SERVER_TO_CLIENT);
                if (bad >= 0) {
                    failure.compareAndSet(null, "stream " + local.getPort() + ": byte " + bad + " from the server differs");
                    return;
                }
                received += n;
            }
        } catch (Exception e) {
            failure.compareAndSet(null, "stream " + local.getPort() + " receive: " + e.getMessage());
        }
    }

    /** Stops sending (FIN after the last byte) and waits for the server's end of stream. */
    void finish(long timeoutMillis) throws InterruptedException {
        sending = false;
        sender.join(timeoutMillis);
        receiver.join(timeoutMillis);
        if (!ended) failure.compareAndSet(null, "stream " + local.getPort() + ": the server's stream did not end within " + timeoutMillis + " ms");
    }

    @Override
    public void close() throws InterruptedException {
        sending = false;
        sender.join(5_000);
        try {
            Libc.shutdown(fd, Libc.SHUT_RDWR);
        } catch (Exception ignored) {
            // not connected any more
        }
        receiver.join(5_000);
        Libc.closeQuietly(fd);
    }
}
