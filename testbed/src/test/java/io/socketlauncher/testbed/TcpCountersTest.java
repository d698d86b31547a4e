package io.socketlauncher.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TcpCountersTest {
    private static final String BEFORE = """
            Ip: Forwarding DefaultTTL
            Ip: 1 64
            Tcp: RtoAlgorithm RtoMin EstabResets InSegs RetransSegs OutRsts
            Tcp: 1 200 3 5054 17 24
            TcpExt: SyncookiesSent TCPLossProbes
            TcpExt: 0 5
            """;
    private static final String AFTER = """
            Tcp: RtoAlgorithm RtoMin EstabResets InSegs RetransSegs OutRsts
            Tcp: 1 200 3 6000 20 24
            TcpExt: SyncookiesSent TCPLossProbes
            TcpExt: 0 9
            """;

    @Test
    void countersOfBothFilesAreReadAndCompared() {
        TcpCounters before = TcpCounters.parse(BEFORE), after = TcpCounters.parse(AFTER);
        assertThat(after.since(before, "RetransSegs")).isEqualTo(3);
        assertThat(after.since(before, "TCPLossProbes")).isEqualTo(4);
        assertThat(after.since(before, "EstabResets")).isZero();
        assertThat(after.describe(before, "InSegs", "OutRsts")).isEqualTo("InSegs +946 OutRsts +0");
    }

    @Test
    void aMisspelledCounterIsAnErrorNotAZero() {
        TcpCounters c = TcpCounters.parse(BEFORE);
        assertThatThrownBy(() -> c.since(c, "RetransSeg")).hasMessage("no TCP counter named RetransSeg");
    }

    @Test
    void aTruncatedFileIsRejected() {
        assertThatThrownBy(() -> TcpCounters.parse("Tcp: RetransSegs\n")).hasMessageContaining("found 1");
        assertThatThrownBy(() -> TcpCounters.parse("Tcp: A B\nTcp: 1\nTcpExt: C\nTcpExt: 2\n")).hasMessageContaining("3 names but 2 values");
    }

    @Test
    void aRealHostsCountersAreThere() throws Exception {
        try (Testbed tb = Testbed.builder().clients(1).servers(1).build()) {
            TcpCounters c = TcpCounters.of(tb.client(1));
            assertThat(c.value("RetransSegs")).isZero();
            assertThat(c.values()).containsKeys("EstabResets", "OutRsts", "TCPLossProbes", "TCPDSACKOldSent");
        }
    }
}
