package io.socketlauncher.cluster;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.Host;
import io.socketlauncher.testbed.NumberedStream;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicReference;

/** The client end in the client's namespace: a paced numbered stream out, every byte of the server's checked. */
final class StreamingClient implements AutoCloseable {
    private static final int TCPI_TOTAL_RETRANS = 100;

    final int fd;
    final int port;
    final AtomicReference<String> failure = new AtomicReference<>();
    private final Thread sender, receiver;
    private volatile boolean sending = true;
    volatile long sent, received;
    private volatile boolean ended;

    StreamingClient(Host host, InetSocketAddress vip) throws Exception {
        fd = host.namespace().call(() -> {
            int family = vip.getAddress() instanceof Inet6Address ? Libc.AF_INET6 : Libc.AF_INET;
            int s = Libc.socket(family, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.setsockopt(s, Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
            Libc.connect(s, vip);
            return s;
        });
        port = Libc.getsockname(fd).getPort();
        sender = Thread.ofPlatform().daemon().name("client-send").unstarted(this::send);
        receiver = Thread.ofPlatform().daemon().name("client-receive").unstarted(this::receive);
    }

    void start() {
        sender.start();
        receiver.start();
    }

    private void send() {
        byte[] chunk = new byte[StreamingApp.CHUNK];
        long nextSend = System.nanoTime();
        try {
            while (sending) {
                long now = System.nanoTime();
                if (now < nextSend) {
                    Thread.sleep(0, (int) Math.min(999_999, nextSend - now));
                    continue;
                }
                if ((Libc.poll(fd, Libc.POLLOUT, 10) & Libc.POLLOUT) == 0) continue;
                NumberedStream.fill(chunk, chunk.length, sent, NumberedStream.CLIENT_TO_SERVER);
                int n = Libc.send(fd, chunk, 0, chunk.length, Libc.MSG_DONTWAIT);
                if (n > 0) sent += n;
                nextSend = Math.max(nextSend + StreamingApp.SEND_PERIOD_NANOS, now - 100 * StreamingApp.SEND_PERIOD_NANOS);
            }
            Libc.shutdown(fd, Libc.SHUT_WR);
        } catch (Exception e) {
            failure.compareAndSet(null, "client send: " + e);
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
                    failure.compareAndSet(null, "client: server byte " + bad + " differs");
                    return;
                }
                received += n;
            }
        } catch (Exception e) {
            failure.compareAndSet(null, "client receive: " + e);
        }
    }

    /** Stops sending (FIN after the last byte) and waits until the server's stream ends. */
    void finish(long timeoutMillis) throws InterruptedException {
        sending = false;
        sender.join(timeoutMillis);
        receiver.join(timeoutMillis);
        if (!ended) failure.compareAndSet(null, "client: the server's stream did not end within " + timeoutMillis + " ms");
    }

    /** tcpi_total_retrans of the client's socket: segments this connection retransmitted. */
    long totalRetransmissions() throws Exception {
        byte[] info = Libc.getsockopt(fd, Libc.SOL_TCP, Libc.TCP_INFO, TCPI_TOTAL_RETRANS + 4);
        return Integer.toUnsignedLong(ByteBuffer.wrap(info).order(ByteOrder.nativeOrder()).getInt(TCPI_TOTAL_RETRANS));
    }

    @Override
    public void close() throws InterruptedException {
        sending = false;
        sender.join(5_000);
        Libc.closeQuietly(fd);
        receiver.join(5_000);
    }
}
