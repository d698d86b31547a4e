package io.socketlauncher.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.ProxyConfig.Hook;
import io.socketlauncher.proxy.ProxyConfig.Mode;
import org.junit.jupiter.api.Test;

/** Real clients through the VIP on the testbed. */
class ProxyTrafficTest {
    @Test
    void redisBenchmarkThroughTheVipIsServedByBothServers() throws Exception {
        try (Bed bed = Bed.start(1, 2, Hook.XDP, Mode.NAT, Algorithm.MAGLEV, 6379, 6379, null)) {
            assertThat(bed.proxy.hooks()).containsValue(Hook.XDP).doesNotContainValue(Hook.TC);
            bed.redis(1);
            bed.redis(2);
            long before1 = Bed.redisConnections(bed.tb.server(1)), before2 = Bed.redisConnections(bed.tb.server(2));
            var r = bed.tb.client(1).exec("redis-benchmark", "-h", bed.vip.getAddress().getHostAddress(), "-p", "6379",
                    "-c", "50", "-n", "20000", "-t", "ping,set,get", "-q");
            assertThat(r.stdout()).contains("PING_INLINE").contains("SET").contains("GET").doesNotContain("rror");
            long served1 = Bed.redisConnections(bed.tb.server(1)) - before1, served2 = Bed.redisConnections(bed.tb.server(2)) - before2;
            assertThat(served1).as("connections served by s1").isPositive();
            assertThat(served2).as("connections served by s2").isPositive();
            assertThat(served1 + served2).isGreaterThanOrEqualTo(150);
            assertThat(bed.proxy.scrape()).contains("proxy_backend_packets_total{backend=\"s1\"");
        }
    }
}
