package io.socketlauncher.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class AddressingTest {
    @Test
    void ipv6IsPrintedInItsShortForm() throws Exception {
        assertThat(Addressing.format(Addressing.hostAddress6(Host.Role.SERVER, 1))).isEqualTo("fd77:0:101::2");
        assertThat(Addressing.format(Addressing.SERVICE6)).isEqualTo("fd77:0:200::1");
        assertThat(Addressing.format(InetAddress.getByName("::1"))).isEqualTo("::1");
        assertThat(Addressing.format(InetAddress.getByName("1:0:0:2:0:0:0:3"))).isEqualTo("1:0:0:2::3");
        assertThat(Addressing.format(InetAddress.getByName("1:2:3:4:5:6:7:8"))).isEqualTo("1:2:3:4:5:6:7:8");
        assertThat(Addressing.format(InetAddress.getByName("10.77.1.2"))).isEqualTo("10.77.1.2");
    }

    @Test
    void addressesFollowFromRoleAndIndex() {
        assertThat(Addressing.hostAddress(Host.Role.CLIENT, 3).getHostAddress()).isEqualTo("10.77.3.2");
        assertThat(Addressing.gateway(Host.Role.SERVER, 2).getHostAddress()).isEqualTo("10.77.102.1");
        assertThat(Addressing.lbInterface(Host.Role.SERVER, 2)).isEqualTo("s2");
    }
}
