package io.socketlauncher.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class MaglevTest {
    private static final int SIZE = 65537;

    private static int[] share(int[] table, int backends) {
        int[] counts = new int[backends];
        for (int slot : table) counts[slot]++;
        return counts;
    }

    @Test
    void slotsFollowTheWeights() {
        int[] table = Maglev.table(List.of(new Maglev.Entry("a", 0, 1), new Maglev.Entry("b", 1, 3), new Maglev.Entry("c", 2, 0)), SIZE);
        int[] counts = share(table, 3);
        assertThat(counts[2]).as("weight 0 gets nothing").isZero();
        assertThat(counts[0] + counts[1]).isEqualTo(SIZE);
        assertThat((double) counts[1] / counts[0]).isBetween(2.7, 3.3);
    }

    @Test
    void removingOneBackendMovesLittleElse() {
        List<Maglev.Entry> four = List.of(new Maglev.Entry("s1", 0, 1), new Maglev.Entry("s2", 1, 1),
                new Maglev.Entry("s3", 2, 1), new Maglev.Entry("s4", 3, 1));
        int[] before = Maglev.table(four, SIZE);
        int[] after = Maglev.table(four.subList(0, 3), SIZE);
        int moved = 0;
        for (int i = 0; i < SIZE; i++) if (before[i] != 3 && before[i] != after[i]) moved++;
        // Slots of the survivors that changed owner: Maglev keeps this small (a few percent), not a reshuffle.
        assertThat((double) moved / SIZE).isLessThan(0.1);
        assertThat(share(after, 4)[3]).isZero();
    }

    @Test
    void noBackendsGiveAnEmptyTable() {
        assertThat(Maglev.table(List.of(), 7)).containsOnly(-1);
        assertThat(Maglev.table(List.of(new Maglev.Entry("x", 5, 0)), 7)).containsOnly(-1);
    }
}
