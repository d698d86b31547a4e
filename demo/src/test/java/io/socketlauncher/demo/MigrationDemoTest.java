package io.socketlauncher.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

/** {@code make demo}, shortened: it must pass, and its table must say what it checked. */
class MigrationDemoTest {
    /** Also behind a full-NAT proxy (one source address): redis-benchmark's connections and the streams move as well. */
    @ParameterizedTest(name = "full NAT: {0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void theDemoPassesWithConnectionsMigratingAndEveryByteChecked(boolean fullNat) throws Exception {
        MigrationDemo.Settings settings = new MigrationDemo.Settings(Duration.ofSeconds(8), 10, 8, 5, null, 2, 500_000,
                Duration.ofMillis(50), fullNat);
        MigrationDemo.Report report = new MigrationDemo(settings, System.err).run();
        ByteArrayOutputStream table = new ByteArrayOutputStream();
        report.printTable(new PrintStream(table, true, StandardCharsets.UTF_8));
        System.out.print(table.toString(StandardCharsets.UTF_8));

        assertThat(report.failures()).isEmpty();
        assertThat(report.benchmarkErrors()).isEmpty();
        assertThat(report.clientResets()).isZero();
        assertThat(report.lost()).isZero();
        assertThat(report.migrations()).isGreaterThan(100);
        assertThat(report.benchmarkRounds()).as("a plain and a pipelined redis-benchmark run at least").isGreaterThanOrEqualTo(2);
        assertThat(report.bytesChecked()).isGreaterThan(1_000_000);
        assertThat(report.passed()).isTrue();
        assertThat(table.toString(StandardCharsets.UTF_8)).contains("PASS:", "connections migrated", "client retransmissions", "probes / timeouts / fast retransmits");
    }
}
