package io.socketlauncher.server.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The seed's logistic transfer probability: its curve, and the draws with a seeded random source. */
class LogisticThresholdTest {
    @Test
    void theCurveIsOneHalfAtTheThresholdAndLogisticAroundIt() {
        LogisticThreshold rule = new LogisticThreshold(10, 0.5, new Random(1));
        assertThat(rule.probability(10)).isEqualTo(0.5);
        assertThat(rule.probability(14)).isCloseTo(1 / (1 + Math.exp(-2)), within(1e-12));
        assertThat(rule.probability(6)).isCloseTo(1 / (1 + Math.exp(2)), within(1e-12));
        for (int d = 1; d <= 20; d++) {
            assertThat(rule.probability(10 + d) + rule.probability(10 - d)).as("symmetric about the threshold at %d", d)
                    .isCloseTo(1.0, within(1e-12));
            assertThat(rule.probability(10 + d)).as("rising at %d", d).isGreaterThan(rule.probability(10 + d - 1));
        }
        assertThat(rule.probability(0)).isLessThan(0.01);
        assertThat(rule.probability(30)).isGreaterThan(0.9999);
    }

    @Test
    void aSteeperCurveShedsLessBelowAndMoreAboveTheThreshold() {
        LogisticThreshold gentle = new LogisticThreshold(8, 0.25), steep = new LogisticThreshold(8, 4);
        assertThat(steep.probability(6)).isLessThan(gentle.probability(6));
        assertThat(steep.probability(10)).isGreaterThan(gentle.probability(10));
        assertThat(steep.probability(8)).isEqualTo(gentle.probability(8)).isEqualTo(0.5);
    }

    @Test
    void drawsFollowTheProbabilityAndRepeatWithTheSeed() {
        int draws = 100_000;
        for (double q : new double[] {4, 8, 9, 12}) {
            LogisticThreshold rule = new LogisticThreshold(8, 1.0, new Random(42));
            int moved = 0;
            for (int i = 0; i < draws; i++) if (rule.shouldTransfer(q)) moved++;
            assertThat((double) moved / draws).as("share moved at q=%s", q).isCloseTo(rule.probability(q), within(0.01));
        }
        LogisticThreshold a = new LogisticThreshold(8, 1.0, new Random(7)), b = new LogisticThreshold(8, 1.0, new Random(7));
        for (int i = 0; i < 1000; i++) assertThat(a.shouldTransfer(i % 16)).isEqualTo(b.shouldTransfer(i % 16));
    }

    @Test
    void parametersAreChecked() {
        assertThatThrownBy(() -> new LogisticThreshold(-1, 1)).hasMessageContaining("threshold must be a finite load >= 0");
        assertThatThrownBy(() -> new LogisticThreshold(5, 0)).hasMessageContaining("steepness must be finite and positive");
        assertThatThrownBy(() -> new LogisticThreshold(Double.NaN, 1)).hasMessageContaining("threshold");
    }
}
