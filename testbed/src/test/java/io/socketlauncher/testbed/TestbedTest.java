package io.socketlauncher.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TestbedTest {
    @Test
    void hostsReachEachOtherThroughTheLoadBalancerHostOverIpv4AndIpv6() throws Exception {
        try (Testbed tb = Testbed.builder().clients(2).servers(2).build()) {
            assertThat(Testbed.ownNamespaces()).contains(tb.lb().name(), tb.client(2).name(), tb.server(2).name());
            tb.client(1).exec("ping", "-c", "1", "-W", "2", tb.server(2).address().getHostAddress());
            tb.client(2).exec("ping", "-c", "1", "-W", "2", tb.server(1).address6().getHostAddress());
            tb.server(1).exec("ping", "-c", "1", "-W", "2", tb.server(2).address().getHostAddress());
            String routes = tb.client(1).exec("ip", "route").stdout();
            assertThat(routes).contains("default via " + tb.client(1).gateway().getHostAddress());
            assertThat(tb.describe().hosts()).hasSize(5);
            assertThat(tb.describe().serviceAddress()).isEqualTo("10.77.200.1");
        }
    }

    @Test
    void aFailingTestStillRemovesEveryNamespace() throws Exception {
        List<String> names;
        Testbed tb = Testbed.builder().clients(1).servers(1).build();
        names = tb.hosts().stream().map(Host::name).toList();
        assertThatThrownBy(() -> {
            try (tb) {
                tb.server(1).start("sleep", "600");
                throw new IllegalStateException("the test body failed");
            }
        }).hasMessage("the test body failed");
        assertThat(Testbed.ownNamespaces()).doesNotContainAnyElementsOf(names);
        for (String ns : names) assertThat(Path.of("/var/run/netns", ns)).doesNotExist();
    }

    @Test
    void namespacesOfAKilledProcessAreRemovedAtTheNextStart() throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                StrandedTestbed.class.getName()).redirectErrorStream(true).start();
        try {
            String ready = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertThat(ready).startsWith("up ");
            List<String> stranded = List.of(ready.substring(3).split(","));
            child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            assertThat(Testbed.ownNamespaces()).containsAll(stranded);

            List<String> removed = Testbed.removeLeftovers();

            assertThat(removed).containsExactlyInAnyOrderElementsOf(stranded);
            for (String ns : stranded) assertThat(Files.exists(Path.of("/var/run/netns", ns))).isFalse();
        } finally {
            child.destroyForcibly();
            Testbed.removeLeftovers();
        }
    }

    @Test
    void badSizesAreRejectedBeforeAnythingIsCreated() {
        assertThatThrownBy(() -> Testbed.builder().servers(0)).hasMessage("servers must be 1..99, not 0");
        assertThatThrownBy(() -> Testbed.builder().clients(100)).hasMessage("clients must be 1..99, not 100");
    }

    /** A process that builds a testbed, says so, and waits to be killed. */
    public static final class StrandedTestbed {
        public static void main(String[] args) throws Exception {
            Testbed tb = Testbed.builder().clients(1).servers(1).build();
            System.out.println("up " + String.join(",", tb.hosts().stream().map(Host::name).toList()));
            System.out.flush();
            Thread.sleep(600_000);
        }
    }
}
