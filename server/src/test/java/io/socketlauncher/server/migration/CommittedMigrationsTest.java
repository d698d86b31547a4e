package io.socketlauncher.server.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** What a target remembers of the migrations it committed: every one for the keep time, none longer. */
class CommittedMigrationsTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aCommittedMigrationIsRememberedForTheKeepTimeThenForgotten() {
        CommittedMigrations committed = new CommittedMigrations(30 * SECOND);
        long t0 = 5_000 * SECOND;
        committed.add(0x1234L, t0);
        committed.add(-7L, t0 + 10 * SECOND);
        assertThat(committed.contains(0x1234L, t0 + 30 * SECOND)).isTrue();
        assertThat(committed.contains(-7L, t0 + 30 * SECOND)).isTrue();
        assertThat(committed.contains(99L, t0 + 30 * SECOND)).as("never committed here").isFalse();
        assertThat(committed.contains(0x1234L, t0 + 30 * SECOND + 1)).as("past the keep time").isFalse();
        assertThat(committed.contains(-7L, t0 + 30 * SECOND + 1)).isTrue();
        assertThat(committed.size()).isEqualTo(1);
    }

    /** Far more commits within the keep time than the arrays first hold: none is forgotten early to make room. */
    @Test
    void aBurstBeyondTheInitialCapacityKeepsEveryIdWithinTheKeepTime() {
        CommittedMigrations committed = new CommittedMigrations(30 * SECOND);
        long t0 = 100 * SECOND;
        int n = 300_000; // ten thousand a second for the 30 s guard time
        for (int i = 0; i < n; i++) committed.add(i * 31L + 1, t0 + i * 100_000L);
        long end = t0 + (n - 1) * 100_000L;
        assertThat(committed.size()).isEqualTo(n);
        for (int i = 0; i < n; i += 997) assertThat(committed.contains(i * 31L + 1, end)).as("id " + i).isTrue();
        assertThat(committed.contains(n * 31L + 1, end)).isFalse();

        // Later adds forget what is older than the keep time, oldest first, and the ring wraps around.
        long later = end + 15 * SECOND;
        for (int i = 0; i < 1_000; i++) committed.add(-(i + 1L), later + i);
        assertThat(committed.contains(1L, later)).as("the first id, 45 s old").isFalse();
        assertThat(committed.contains((n - 1) * 31L + 1, later)).as("the last of the burst, 15 s old").isTrue();
        assertThat(committed.contains(-1_000L, later + 999)).isTrue();
        assertThat(committed.size()).isLessThan(n);
    }

    @Test
    void theKeepTimeMustBePositive() {
        assertThatThrownBy(() -> new CommittedMigrations(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
