package io.socketlauncher.demo.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.server.policy.LogisticThreshold;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class MovePolicyTest {
    @Test
    void everyNRequestsGoesToThePeersInTurn() throws Exception {
        MovePolicy policy = MovePolicy.everyRequests(3);
        Set<String> peers = new TreeSet<>(Set.of("s2", "s3"));
        assertThat(policy.peer(2, 0, peers)).isNull();
        assertThat(policy.peer(3, 0, peers)).isEqualTo("s2");
        assertThat(policy.peer(7, 0, peers)).isEqualTo("s3");
        assertThat(policy.peer(3, 0, Set.of())).as("no peer to go to").isNull();
        assertThatThrownBy(() -> MovePolicy.everyRequests(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theLogisticRuleMovesMoreOftenTheBusierTheServer() throws Exception {
        MovePolicy policy = MovePolicy.logistic(new LogisticThreshold(4, 1.5, new Random(1)), peers -> Optional.of("s2"));
        int idle = 0, busy = 0;
        for (int i = 0; i < 2_000; i++) {
            if (policy.peer(1, 0, Set.of("s2")) != null) idle++;
            if (policy.peer(1, 8, Set.of("s2")) != null) busy++;
        }
        // p(0) = 0.0025, p(8) = 0.9975
        assertThat(idle).isLessThan(40);
        assertThat(busy).isGreaterThan(1_960);
        assertThat(policy.peer(0, 8, Set.of("s2"))).as("not before its first request").isNull();
        MovePolicy nowhere = MovePolicy.logistic(new LogisticThreshold(0, 10, new Random(1)), peers -> Optional.empty());
        assertThat(nowhere.peer(5, 100, Set.of("s2"))).as("the selector finds no peer able to take it").isNull();
    }
}
