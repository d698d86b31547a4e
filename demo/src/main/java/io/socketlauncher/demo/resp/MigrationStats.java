package io.socketlauncher.demo.resp;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * What the RESP servers did, counted by the servers themselves (one object shared by all of them): requests
 * served, connections moved and how long each move took ({@code transfer()} called to the peer serving), moves
 * that rolled back or whose outcome is unknown, stream bytes checked, protocol errors, and failures worth a
 * line in the demo's verdict.
 */
public final class MigrationStats {
    /** One numbered stream as the server saw it end: bytes it checked from the client, bytes it sent. */
    public record StreamEnd(long received, long sent) {}

    private final LongAdder requests = new LongAdder();
    private final LongAdder migrations = new LongAdder();
    private final LongAdder migrationsWithPendingBytes = new LongAdder();
    private final LongAdder arrivals = new LongAdder();
    private final LongAdder rollbacks = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private final LongAdder protocolErrors = new LongAdder();
    private final LongAdder connectionErrors = new LongAdder();
    private final LongAdder streamBytesChecked = new LongAdder();
    private final ConcurrentHistogram latencyMicros = new ConcurrentHistogram(3_600_000_000L, 3);
    /**
     * Migrations that started a second or more after the first one did: the first second is a cold start (every
     * connection moving at once while the channels to the peers and the proxy are opened and the JIT compiles),
     * and it holds the run's max.
     */
    private final ConcurrentHistogram warmLatencyMicros = new ConcurrentHistogram(3_600_000_000L, 3);
    private final AtomicLong firstStartNanos = new AtomicLong(Long.MAX_VALUE);
    private final Map<InetSocketAddress, AtomicInteger> migrationsByClient = new ConcurrentHashMap<>();
    private final Map<InetSocketAddress, StreamEnd> streamEnds = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private static final int MAX_ROLLBACK_REASONS = 5;
    private final ConcurrentLinkedQueue<String> rollbackReasons = new ConcurrentLinkedQueue<>();

    void request() {
        requests.increment();
    }

    void migrated(InetSocketAddress client, long nanos, int pendingBytes) {
        migrations.increment();
        if (pendingBytes > 0) migrationsWithPendingBytes.increment();
        long micros = Math.max(1, nanos / 1000);
        latencyMicros.recordValue(micros);
        long started = System.nanoTime() - nanos;
        long first = firstStartNanos.accumulateAndGet(started, Math::min);
        if (started - first >= 1_000_000_000L) warmLatencyMicros.recordValue(micros);
        migrationsByClient.computeIfAbsent(client, k -> new AtomicInteger()).incrementAndGet();
    }

    void arrived() {
        arrivals.increment();
    }

    /** Keeps the first few reasons: a rolled-back migration is no failure (the connection carries on), but worth a word. */
    void rolledBack(String why) {
        rollbacks.increment();
        if (rollbackReasons.size() < MAX_ROLLBACK_REASONS) rollbackReasons.add(why);
    }

    void lost(String what) {
        lost.increment();
        failure(what);
    }

    void protocolError() {
        protocolErrors.increment();
    }

    void connectionError() {
        connectionErrors.increment();
    }

    void streamChecked(int bytes) {
        streamBytesChecked.add(bytes);
    }

    void streamEnded(InetSocketAddress client, long received, long sent) {
        streamEnds.put(client, new StreamEnd(received, sent));
    }

    void failure(String what) {
        if (failures.size() < 100) failures.add(what);
    }

    public long requests() {
        return requests.sum();
    }

    public long migrations() {
        return migrations.sum();
    }

    /** Migrations that carried bytes of a partly read request in the session state. */
    public long migrationsWithPendingBytes() {
        return migrationsWithPendingBytes.sum();
    }

    public long arrivals() {
        return arrivals.sum();
    }

    public long rollbacks() {
        return rollbacks.sum();
    }

    public long lost() {
        return lost.sum();
    }

    public long protocolErrors() {
        return protocolErrors.sum();
    }

    /** Connections that ended with an I/O error at the server (a reset, for instance). */
    public long connectionErrors() {
        return connectionErrors.sum();
    }

    public long streamBytesChecked() {
        return streamBytesChecked.sum();
    }

    /** How many times the connection of {@code client} moved. */
    public int migrationsOf(InetSocketAddress client) {
        AtomicInteger n = migrationsByClient.get(client);
        return n == null ? 0 : n.get();
    }

    public StreamEnd streamEnd(InetSocketAddress client) {
        return streamEnds.get(client);
    }

    /** A copy of the migration latencies so far, in microseconds. */
    public Histogram latencyMicros() {
        return latencyMicros.copy();
    }

    /** The same, of the migrations that started a second or more after the first one. */
    public Histogram warmLatencyMicros() {
        return warmLatencyMicros.copy();
    }

    public List<String> failures() {
        return List.copyOf(failures);
    }

    /** Why the first migrations that rolled back did (at most five). */
    public List<String> rollbackReasons() {
        return List.copyOf(rollbackReasons);
    }
}
