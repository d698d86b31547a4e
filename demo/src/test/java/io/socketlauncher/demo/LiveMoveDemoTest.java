package io.socketlauncher.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.testbed.Testbed;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class LiveMoveDemoTest {
    /**
     * Two-way streaming while the server end moves s1 -> s2 -> s1 ... 200 times: every byte checked on
     * arrival, no reset, still established at the end. The client's minimum RTO is lowered so its
     * retransmissions after each move's drop window don't dominate the run time.
     */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void connectionStreamsBothWaysThroughTwoHundredMoves() throws Exception {
        try (Testbed testbed = Testbed.builder().clients(1).servers(2).build()) {
            LiveMoveDemo.Settings settings = new LiveMoveDemo.Settings(Duration.ofSeconds(240), 200, Duration.ofMillis(10),
                    4_000_000, 7400, 5);
            LiveMoveDemo.Report report = new LiveMoveDemo(testbed, settings, System.out).run();
            report.printTable(System.out);

            assertThat(report.failure()).isNull();
            assertThat(report.moves()).isEqualTo(200);
            assertThat(report.clientResets()).isZero();
            assertThat(report.connectionOpen()).isTrue();
            assertThat(report.bytesCheckedClientToServer()).isPositive();
            assertThat(report.bytesCheckedServerToClient()).isPositive();
        }
    }
}
