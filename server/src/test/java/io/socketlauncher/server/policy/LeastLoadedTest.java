package io.socketlauncher.server.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Least-loaded peer choice over a load source, with a hand-driven clock. */
class LeastLoadedTest {
    private final Map<String, Long> loads = new HashMap<>();
    private final AtomicInteger fetches = new AtomicInteger();
    private final AtomicLong clock = new AtomicLong();
    private final LeastLoaded selector = new LeastLoaded(() -> {
        fetches.incrementAndGet();
        return Map.copyOf(loads);
    }, Duration.ofSeconds(1), clock::get);

    @Test
    void choosesTheLeastLoadedAndBreaksTiesById() throws IOException {
        loads.putAll(Map.of("s2", 5L, "s3", 3L, "s4", 3L));
        assertThat(selector.choose(Set.of("s2", "s3", "s4"))).contains("s3");
    }

    @Test
    void connectionsSentSinceTheLastFetchCountAsLoad() throws IOException {
        loads.putAll(Map.of("s2", 5L, "s3", 3L, "s4", 3L));
        List<String> chosen = new ArrayList<>();
        for (int i = 0; i < 7; i++) chosen.add(selector.choose(Set.of("s2", "s3", "s4")).orElseThrow());
        // s3 and s4 take turns until they reach s2's 5, then all three do.
        assertThat(chosen).containsExactly("s3", "s4", "s3", "s4", "s2", "s3", "s4");
        assertThat(fetches).hasValue(1);
    }

    @Test
    void afterTheRefreshTheSourceIsAskedAgainAndLocalCountsReset() throws IOException {
        loads.putAll(Map.of("s2", 0L, "s3", 1L));
        assertThat(selector.choose(Set.of("s2", "s3"))).contains("s2");
        assertThat(selector.choose(Set.of("s2", "s3"))).contains("s2"); // 0+1 vs 1: tie, smaller id
        assertThat(selector.choose(Set.of("s2", "s3"))).contains("s3"); // 0+2 vs 1
        clock.addAndGet(Duration.ofSeconds(1).toNanos());
        loads.put("s2", 10L);
        assertThat(selector.choose(Set.of("s2", "s3"))).contains("s3");
        assertThat(fetches).hasValue(2);
    }

    @Test
    void peersTheSourceDoesNotListAreNeverChosen() throws IOException {
        loads.putAll(Map.of("s2", 100L));
        assertThat(selector.choose(Set.of("s2", "s9"))).contains("s2");
        assertThat(selector.choose(Set.of("s9"))).isEqualTo(Optional.empty());
        assertThat(selector.choose(Set.of())).isEmpty();
    }

    @Test
    void aFailingSourceFailsTheChoice() {
        LeastLoaded broken = new LeastLoaded(() -> {
            throw new IOException("proxy unreachable");
        }, Duration.ZERO);
        assertThatThrownBy(() -> broken.choose(Set.of("s2"))).isInstanceOf(IOException.class).hasMessage("proxy unreachable");
    }
}
