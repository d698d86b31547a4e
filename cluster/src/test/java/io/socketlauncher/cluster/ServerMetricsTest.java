package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferReport;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What a server's meters say after real work: a connection accepted at s1, moved to s2, then refused on its way back
 * (s1 takes no transfers), so that it stays at s2; read through a Prometheus registry, as an application would export it.
 */
class ServerMetricsTest {
    @Test
    void theMetersCountAcceptsArrivalsAndMigrationsByOutcomeAndTimeTheMoves() throws Exception {
        try (Cluster cluster = Cluster.builder().clients(1).servers(2).build()) {
            LauncherServer s1 = cluster.server(1), s2 = cluster.server(2);
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            s1.metrics().bindTo(registry);
            s2.metrics().bindTo(registry);
            // Bound twice (two parts of an application each binding it), the server still counts every move once.
            s1.metrics().bindTo(registry);
            cluster.proxy().setWeight("s2", 0); // new connections to s1

            try (Socket client = cluster.client(1).namespace().call(() -> new Socket(cluster.service().getAddress(), cluster.service().getPort()))) {
                client.setSoTimeout(20_000);
                Connection atS1 = acceptFrom(s1, client);
                TransferReport report = s1.transfer(atS1, "s2").get(20, TimeUnit.SECONDS);
                Connection atS2 = acceptFrom(s2, client);
                assertThat(atS2.arrivedFrom()).as("arrived at s2").contains("s1");
                roundTrip(client, atS2, "after the move");

                s1.acceptTransfers(false);
                assertThatThrownBy(() -> s2.transfer(atS2, "s1").get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOf(TransferException.class);
                roundTrip(client, atS2, "still served by s2");

                // Besides the client's, the proxy's TCP health checks, some perhaps still queued for accept().
                assertThat(count(registry, "socketlauncher.connections.accepted", "s1")).isGreaterThanOrEqualTo(1 + healthChecks.get("s1"));
                assertThat(count(registry, "socketlauncher.connections.accepted", "s2")).isGreaterThanOrEqualTo(healthChecks.get("s2"));
                assertThat(count(registry, "socketlauncher.connections.arrived", "s2")).isEqualTo(1);
                assertThat(count(registry, "socketlauncher.connections.arrived", "s1")).isZero();
                assertThat(migrations(registry, "s1", "moved")).isEqualTo(1);
                assertThat(migrations(registry, "s2", "stayed")).as("the refused move back").isEqualTo(1);
                assertThat(migrations(registry, "s2", "moved") + migrations(registry, "s1", "stayed")
                        + migrations(registry, "s1", "lost") + migrations(registry, "s2", "lost")).isZero();

                Timer s1Moves = registry.get("socketlauncher.migration.duration").tag("server", "s1").timer();
                assertThat(s1Moves.count()).isEqualTo(1);
                assertThat((long) s1Moves.totalTime(TimeUnit.NANOSECONDS)).isEqualTo(report.transferredNanos());
                assertThat(registry.get("socketlauncher.migration.duration").tag("server", "s2").timer().count()).isZero();
                // The kernel's view from s1's namespace, not the library's own count.
                String agentPort = ":" + Cluster.AGENT_PORT;
                long toPeerAgent = cluster.testbed().server(1).exec("ss", "-Htn", "state", "established", "( dport = " + agentPort + " )")
                        .stdout().lines().filter(l -> l.contains(agentPort)).count();
                assertThat(toPeerAgent).as("s1's channels to s2's agent").isPositive();
                assertThat(registry.get("socketlauncher.channels.open").tags("server", "s1", "to", "peers").gauge().value())
                        .as("s1's channels to s2, as the gauge says").isEqualTo((double) toPeerAgent);
                assertThat(count(registry, "socketlauncher.hold.dropped", "s2")).isZero();

                String scraped = registry.scrape();
                assertThat(scraped).contains("socketlauncher_migrations_total{outcome=\"moved\",server=\"s1\"} 1.0")
                        .contains("socketlauncher_migrations_total{outcome=\"stayed\",server=\"s2\"} 1.0")
                        .contains("socketlauncher_migration_duration_seconds_count{server=\"s1\"} 1")
                        .contains("socketlauncher_migration_duration_seconds_bucket{server=\"s1\",le=");

                s2.close();
                assertThat(registry.find("socketlauncher.migrations").tag("server", "s2").meters()).as("a closed server's meters are gone").isEmpty();
                assertThat(registry.find("socketlauncher.migrations").tag("server", "s1").meters()).hasSize(3);
            }
        }
    }

    /** The proxy's TCP health checks each server's accept() yielded before the client's connection. */
    private final Map<String, Integer> healthChecks = new ConcurrentHashMap<>(Map.of("s1", 0, "s2", 0));

    /** The client's connection at {@code server}; the proxy's health checks accepted meanwhile are closed and counted. */
    private Connection acceptFrom(LauncherServer server, Socket client) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Connection c = server.accept(Duration.ofMillis(200));
            if (c == null) continue;
            if (c.client().getPort() == client.getLocalPort() && c.client().getAddress().equals(client.getLocalAddress())) return c;
            c.close();
            healthChecks.merge(server.id(), 1, Integer::sum);
        }
        throw new AssertionError("the client's connection did not reach " + server.id());
    }

    private static double count(PrometheusMeterRegistry registry, String name, String server) {
        return registry.get(name).tag("server", server).functionCounter().count();
    }

    private static double migrations(PrometheusMeterRegistry registry, String server, String outcome) {
        return registry.get("socketlauncher.migrations").tags("server", server, "outcome", outcome).functionCounter().count();
    }

    /** A line from the client, read at the server's end of the connection, and one back. */
    private static void roundTrip(Socket client, Connection served, String line) throws Exception {
        byte[] out = (line + "\n").getBytes(StandardCharsets.US_ASCII);
        client.getOutputStream().write(out);
        assertThat(served.inputStream().readNBytes(out.length)).isEqualTo(out);
        OutputStream back = served.outputStream();
        back.write(out);
        InputStream in = client.getInputStream();
        assertThat(in.readNBytes(out.length)).isEqualTo(out);
    }
}
