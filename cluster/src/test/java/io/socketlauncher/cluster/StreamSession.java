package io.socketlauncher.cluster;

import io.socketlauncher.server.TransferReport;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/**
 * One client connection's two numbered streams as the servers see them, wherever the connection lives: the
 * migration the test asks for, the first error either end found, the server's totals at the end.
 */
final class StreamSession {
    /** A move the test asks the serving handler to make; completes with the transfer's latency in nanoseconds. */
    record MoveRequest(String from, String to, CompletableFuture<Long> done) {
        MoveRequest(String from, String to) {
            this(from, to, new CompletableFuture<>());
        }
    }

    final int clientPort;
    final AtomicReference<MoveRequest> move = new AtomicReference<>();
    final AtomicReference<String> failure = new AtomicReference<>();
    final CountDownLatch serverDone = new CountDownLatch(1);
    final Histogram latencyMicros = new Histogram(60_000_000L, 3);
    /** HOLDING to XFERED at the source: how long the client's segments waited in the target's hold. */
    final Histogram holdMicros = new Histogram(60_000_000L, 3);
    /** Which migrations (1-based) held the client's segments longer than its loss-probe timer tolerates. */
    final List<String> longHolds = new CopyOnWriteArrayList<>();
    volatile int migrations;
    /** Per step of the protocol (see TransferReport): PREPARE, drain, capture, the wait for REDIRECTED, XFER. */
    final Histogram[] stepMicros = {new Histogram(60_000_000L, 3), new Histogram(60_000_000L, 3),
            new Histogram(60_000_000L, 3), new Histogram(60_000_000L, 3), new Histogram(60_000_000L, 3)};

    void record(TransferReport r) {
        long[] took = r.stepNanos();
        for (int i = 0; i < stepMicros.length; i++) stepMicros[i].recordValue(Math.max(1, took[i] / 1000));
    }

    String steps() {
        String[] names = {"PREPARE->HOLDING", "drain", "capture", "REDIRECTED wait", "XFER->XFERED"};
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            b.append(names[i]).append(" p50 ").append(stepMicros[i].getValueAtPercentile(50)).append(" us / p99 ")
                    .append(stepMicros[i].getValueAtPercentile(99)).append(" us; ");
        }
        return b.toString();
    }
    volatile long serverReceived, serverSent;
    volatile long progress;
    volatile String servedBy;

    StreamSession(int clientPort) {
        this.clientPort = clientPort;
    }

    void fail(String message) {
        failure.compareAndSet(null, message);
    }

    void finished(long received, long sent) {
        serverReceived = received;
        serverSent = sent;
        serverDone.countDown();
    }
}
