package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet6Address;
import org.junit.jupiter.api.Test;

/**
 * The same migration over IPv6: the VIP, the backends and the servers' sockets on the testbed's IPv6 addresses, so
 * that the proxy's NAT, the hold and the forwarding programs, the repair and the protocol's flow keys all carry
 * IPv6 flows. A client streams numbered bytes both ways while its connection moves between s1 and s2.
 */
class Ipv6MigrationTest {
    @Test
    void anIpv6StreamingConnectionMovesBackAndForthWithoutLossOrReset() throws Exception {
        try (Cluster cluster = Cluster.builder().clients(1).servers(2).ipv6().build()) {
            assertThat(cluster.service().getAddress()).isInstanceOf(Inet6Address.class);
            BackAndForth.run(cluster, "IPv6 migration", cluster.client(1).address6(), 200);
        }
    }
}
