package io.socketlauncher.server.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class MigrationTimeoutsTest {
    private static MigrationTimeouts withDrain(Duration quiet, Duration max) {
        MigrationTimeouts d = MigrationTimeouts.DEFAULTS;
        return new MigrationTimeouts(d.prepare(), d.redirect(), d.transfer(), d.rollback(), d.guard(), quiet, max, d.forwardLinger());
    }

    @Test
    void aDrainIsBoundedAsThePrivilegedAgentBoundsIt() {
        assertThat(withDrain(Duration.ofNanos(1), MigrationTimeouts.MAX_DRAIN).drainMax()).isEqualTo(MigrationTimeouts.MAX_DRAIN);
        assertThatThrownBy(() -> withDrain(Duration.ofMillis(1), MigrationTimeouts.MAX_DRAIN.plusNanos(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be at most PT10S");
        assertThatThrownBy(() -> withDrain(Duration.ofSeconds(11), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("drainQuiet (PT11S)");
        assertThatThrownBy(() -> withDrain(Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must be positive");
    }

    @Test
    void theGuardMustOutlastTheStepsItGuards() {
        MigrationTimeouts d = MigrationTimeouts.DEFAULTS;
        assertThatThrownBy(() -> new MigrationTimeouts(d.prepare(), d.redirect(), d.transfer(), d.rollback(),
                d.prepare().multipliedBy(2).plus(d.redirect()).plus(d.transfer()).plus(d.rollback()), d.drainQuiet(), d.drainMax(),
                d.forwardLinger()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must outlast 2 x prepare + redirect + transfer + rollback");
    }
}
