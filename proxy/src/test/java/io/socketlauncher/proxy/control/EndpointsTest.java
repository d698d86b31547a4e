package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class EndpointsTest {
    @Test
    void parsesAndFormatsBothFamilies() {
        assertThat(Endpoints.parse("10.77.200.1:6379"))
                .isEqualTo(new InetSocketAddress(InetAddress.ofLiteral("10.77.200.1"), 6379));
        InetSocketAddress v6 = Endpoints.parse("[fd77:0:200::1]:443");
        assertThat(v6).isEqualTo(new InetSocketAddress(InetAddress.ofLiteral("fd77:0:200::1"), 443));
        assertThat(Endpoints.parse(Endpoints.format(v6))).isEqualTo(v6);
        assertThat(Endpoints.format(Endpoints.parse("10.0.0.1:1"))).isEqualTo("10.0.0.1:1");
    }

    @Test
    void parsesFlows() {
        FlowKey flow = Endpoints.parseFlow("10.77.1.2:40000-10.77.200.1:6379");
        assertThat(flow).isEqualTo(new FlowKey(Endpoints.parse("10.77.1.2:40000"), Endpoints.parse("10.77.200.1:6379")));
        assertThat(Endpoints.format(flow)).isEqualTo("10.77.1.2:40000-10.77.200.1:6379");
        assertThat(Endpoints.parseFlow("[fd77:0:1::2]:1-[fd77:0:200::1]:2").vip().getPort()).isEqualTo(2);
    }

    @Test
    void refusesWhatIsNotALiteralAddress() {
        assertThatThrownBy(() -> Endpoints.parse("proxy.example:7390"))
                .hasMessage("'proxy.example' in 'proxy.example:7390' is not an IP address literal");
        assertThatThrownBy(() -> Endpoints.parse("10.0.0.1")).hasMessageContaining("not of the form");
        assertThatThrownBy(() -> Endpoints.parse("fd77::1:80")).hasMessageContaining("not of the form");
        assertThatThrownBy(() -> Endpoints.parse("[fd77::1]80")).hasMessageContaining("not of the form [IPv6]:PORT");
        assertThatThrownBy(() -> Endpoints.parse("10.0.0.1:0")).hasMessage("port 0 in '10.0.0.1:0' is outside 1-65535");
        assertThatThrownBy(() -> Endpoints.parse("10.0.0.1:99999")).hasMessageContaining("outside 1-65535");
        assertThatThrownBy(() -> Endpoints.parse("10.0.0.1:+80")).hasMessageContaining("is not a number");
        assertThatThrownBy(() -> Endpoints.parse("[10.0.0.1]:80")).hasMessageContaining("not of the form [IPv6]:PORT");
        assertThatThrownBy(() -> Endpoints.parse("10.1:80")).hasMessage("'10.1' in '10.1:80' is not an IP address literal");
        assertThatThrownBy(() -> Endpoints.parse("1".repeat(500))).hasMessageContaining("too long");
        assertThatThrownBy(() -> Endpoints.parseFlow("10.0.0.1:1")).hasMessageContaining("CLIENTIP:PORT-VIP:PORT");
        assertThatThrownBy(() -> Endpoints.parseFlow("10.0.0.1:1-10.0.0.2:2-10.0.0.3:3"))
                .hasMessageContaining("CLIENTIP:PORT-VIP:PORT");
    }
}
