package io.socketlauncher.repair;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.NumberedStream;

/** What the repair tests need beyond {@link NumberedStream}: filling a socket's queues, and its end. */
final class Streams {
    private Streams() {}

    /** Sends without blocking until the socket takes no more for a while; returns how many bytes it took. */
    static long fill(int fd, long from, int salt) throws Exception {
        byte[] chunk = new byte[64 * 1024];
        long sent = 0;
        long idleSince = System.nanoTime();
        while (System.nanoTime() - idleSince < 400_000_000L) {
            NumberedStream.fill(chunk, chunk.length, from + sent, salt);
            int n = Libc.send(fd, chunk, 0, chunk.length, Libc.MSG_DONTWAIT);
            if (n > 0) {
                sent += n;
                idleSince = System.nanoTime();
            } else {
                Thread.sleep(20);
            }
        }
        return sent;
    }

    static void expectEnd(int fd) throws NativeException {
        byte[] b = new byte[1];
        assertThat(Libc.poll(fd, Libc.POLLIN, 30_000)).as("readable (end of stream) within 30 s").isNotZero();
        assertThat(Libc.recv(fd, b, 0, 1, Libc.MSG_DONTWAIT)).as("read at end of stream").isZero();
    }
}
