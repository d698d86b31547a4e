package io.socketlauncher.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Migration behind a full-NAT proxy: the servers see every connection as coming from the proxy's source address
 * (one for the whole service) and a port of its choosing, and name the flow that way when they ask the proxy to
 * re-point it. The restored socket keeps that peer, so the proxy must keep the port towards the target; and the
 * segments a source forwards to the target carry the proxy's own address, which the proxy's host forwards only
 * because its data plane does it (its kernel would drop them as martians). The servers' app only serves
 * connections from the proxy's source address: a stream that moved without full NAT in force would fail to start.
 * Whether a source has late segments to forward at all is up to timing (the count is printed, not asserted): the
 * data plane's forwarding of them is asserted in {@code ProxyControlTest}.
 */
class FullNatMigrationTest {
    @Test
    void aStreamingConnectionBehindFullNatMovesBackAndForthWithoutLossOrReset() throws Exception {
        try (Cluster cluster = Cluster.builder().clients(1).servers(2).fullNat().build()) {
            assertThat(cluster.seenFrom(cluster.client(1).address())).isEqualTo(cluster.testbed().proxySourceAddress());
            BackAndForth.run(cluster, "full-NAT migration", cluster.client(1).address(), 200);
        }
    }

    @Test
    void overIpv6Too() throws Exception {
        try (Cluster cluster = Cluster.builder().clients(1).servers(2).fullNat().ipv6().build()) {
            assertThat(cluster.seenFrom(cluster.client(1).address6())).isEqualTo(cluster.testbed().proxySourceAddress6());
            BackAndForth.run(cluster, "full-NAT migration over IPv6", cluster.client(1).address6(), 200);
        }
    }
}
