package io.socketlauncher.server;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.socketlauncher.server.hold.HoldPlane;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A server's figures as Micrometer meters, for whatever registry the application exports (Prometheus, ...):
 * {@code server.metrics().bindTo(registry)}. Every meter is tagged with the server's id, and removed from its registries
 * when the server closes. Counting costs the migration an add to a {@link LongAdder}, and a bound timer's record.
 */
public final class ServerMetrics implements MeterBinder {
    /** What became of a migration this server started. */
    enum Outcome {
        /** The peer serves the client. */
        MOVED,
        /** Rolled back: the connection is still served here. */
        STAYED,
        /** Neither (see {@link TransferException#stayedOnSource}): the proxy may point at a target that gave up. */
        LOST
    }

    private final LauncherServer server;
    private final LongAdder accepted = new LongAdder(), arrived = new LongAdder();
    private final LongAdder[] outcomes = {new LongAdder(), new LongAdder(), new LongAdder()};
    private final CopyOnWriteArrayList<Timer> durations = new CopyOnWriteArrayList<>();
    private final List<Bound> bound = new CopyOnWriteArrayList<>();

    ServerMetrics(LauncherServer server) {
        this.server = server;
    }

    void accepted() {
        accepted.increment();
    }

    void arrived() {
        arrived.increment();
    }

    void migrated(TransferReport report) {
        outcomes[Outcome.MOVED.ordinal()].increment();
        for (Timer t : durations) t.record(report.transferredNanos(), TimeUnit.NANOSECONDS);
    }

    void failed(Outcome outcome) {
        outcomes[outcome.ordinal()].increment();
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Tags tags = Tags.of("server", server.id());
        keep(registry, FunctionCounter.builder("socketlauncher.connections.accepted", accepted, LongAdder::sum).tags(tags)
                .description("Connections accepted from clients by this server").register(registry));
        keep(registry, FunctionCounter.builder("socketlauncher.connections.arrived", arrived, LongAdder::sum).tags(tags)
                .description("Connections moved here by a peer and handed to accept()").register(registry));
        for (Outcome o : Outcome.values()) {
            keep(registry, FunctionCounter.builder("socketlauncher.migrations", outcomes[o.ordinal()], LongAdder::sum)
                    .tags(tags.and("outcome", o.name().toLowerCase())).description("Migrations this server started, by outcome")
                    .register(registry));
        }
        // Bound twice to one registry, the registry hands back the same timer: record into it once.
        durations.addIfAbsent(keep(registry, Timer.builder("socketlauncher.migration.duration").tags(tags)
                .description("From transfer() called to the peer serving the client (XFERED), for the connections moved")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(50_000))
                .maximumExpectedValue(Duration.ofSeconds(5)).register(registry)));
        keep(registry, FunctionCounter.builder("socketlauncher.forwarding.late.segments", server, LauncherServer::lateSegmentsForwarded)
                .tags(tags).description("Segments of connections that moved away which still arrived here and were sent on")
                .register(registry));
        keep(registry, Gauge.builder("socketlauncher.channels.open", server, LauncherServer::proxyChannels).tags(tags.and("to", "proxy"))
                .description("Control connections open to the proxy").register(registry));
        keep(registry, Gauge.builder("socketlauncher.channels.open", server,
                        s -> s.peerChannels().values().stream().mapToInt(Integer::intValue).sum())
                .tags(tags.and("to", "peers")).description("Channels open to the peers' migration agents").register(registry));
        HoldPlane plane = server.dataPlane();
        if (plane == null) return; // the repair agent holds the flows: its process has these
        keep(registry, FunctionCounter.builder("socketlauncher.hold.handover.timeouts", plane, HoldPlane::handoffTimeouts).tags(tags)
                .description("Releases whose hand-over to the direct path ran out of time (a possible reordering each)").register(registry));
        keep(registry, FunctionCounter.builder("socketlauncher.hold.stragglers", plane, HoldPlane::stragglers).tags(tags)
                .description("Packets of flows no longer held still read from the TUN and written straight back").register(registry));
        keep(registry, FunctionCounter.builder("socketlauncher.hold.dropped", plane, HoldPlane::dropped).tags(tags)
                .description("Held packets dropped: the hold over its memory bound, or the stack refused them").register(registry));
        keep(registry, FunctionCounter.builder("socketlauncher.hold.reordered", plane, HoldPlane::reorderedArrivals).tags(tags)
                .description("Held packets that arrived behind a later segment of their flow (put back in order)").register(registry));
    }

    private <M extends Meter> M keep(MeterRegistry registry, M meter) {
        bound.add(new Bound(registry, meter));
        return meter;
    }

    /** Removes the meters from every registry they were bound to: a server of the same id started later binds its own. */
    void close() {
        for (Bound b : bound) b.registry.remove(b.meter);
        bound.clear();
        durations.clear();
    }

    private record Bound(MeterRegistry registry, Meter meter) {}
}
