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

        // Later adds forget what is older than the keep time, oldest first.
        long later = end + 15 * SECOND;
        for (int i = 0; i < 1_000; i++) committed.add(-(i + 1L), later + i);
        assertThat(committed.contains(1L, later)).as("the first id, 45 s old").isFalse();
        assertThat(committed.contains((n - 1) * 31L + 1, later)).as("the last of the burst, 15 s old").isTrue();
        assertThat(committed.contains(-1_000L, later + 999)).isTrue();
        assertThat(committed.size()).isLessThan(n);
    }

    /** The ring wraps around the end of its arrays, and grows while it does, keeping the order. */
    @Test
    void theRingWrapsAroundAndGrowsWithoutLosingAnId() {
        CommittedMigrations committed = new CommittedMigrations(1_000);
        for (int i = 0; i < 1_000; i++) committed.add(i, i);              // slots 0..999 of 1024
        for (int i = 1_000; i < 1_600; i++) committed.add(i, 1_500 + i); // forgets the first ones; wraps past slot 1023
        long now = 1_500 + 1_599;
        assertThat(committed.size()).isEqualTo(600);
        for (int i = 1_000; i < 1_600; i++) assertThat(committed.contains(i, now)).as("id " + i).isTrue();
        // A burst within the keep time while the oldest entry sits mid-array: the ring grows from there.
        for (int i = 2_000; i < 4_000; i++) committed.add(i, now);
        assertThat(committed.size()).isEqualTo(2_600);
        for (int i = 1_000; i < 1_600; i++) assertThat(committed.contains(i, now)).as("id " + i).isTrue();
        for (int i = 2_000; i < 4_000; i++) assertThat(committed.contains(i, now)).as("id " + i).isTrue();
        assertThat(committed.contains(999, now)).isFalse();
        // And the oldest go first once the keep time has passed them.
        assertThat(committed.contains(1_000, 2_500 + 1_000 + 1)).isFalse();
        assertThat(committed.contains(3_999, now + 1_000)).isTrue();
        assertThat(committed.contains(3_999, now + 1_001)).isFalse();
        assertThat(committed.size()).isZero();
    }

    @Test
    void theKeepTimeMustBePositive() {
        assertThatThrownBy(() -> new CommittedMigrations(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
