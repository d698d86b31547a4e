package io.socketlauncher.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.bpf.proxy.Service.Algorithm;
import io.socketlauncher.proxy.control.ControlKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProxyConfigTest {
    @TempDir
    Path dir;

    private Path write(String json) throws Exception {
        Path f = dir.resolve("proxy.json");
        Files.writeString(f, json);
        return f;
    }

    /** A file with one full-NAT service whose source address is {@code snat}. */
    private Path fullNatWithSnat(String snat) throws Exception {
        return write("{\"interfaces\": [\"c1\"], \"services\": [{\"vip\": \"10.0.0.1:80\", \"mode\": \"FULL_NAT\", \"snat\": \"" + snat + "\"}]}");
    }

    @Test
    void aCompleteFileParses() throws Exception {
        ProxyConfig c = ProxyConfig.read(write("""
                {"namespace": "sl1-lb", "interfaces": ["c1", "s1", "s2"], "hook": "TC", "maxFlows": 4096,
                 "idleTimeoutMillis": 60000, "natPortMin": 30000, "natPortMax": 30999,
                 "services": [{"vip": "10.77.200.1:80", "mode": "FULL_NAT", "algorithm": "LEAST_CONNECTIONS", "snat": "10.77.200.2",
                   "backends": [{"id": "s1", "address": "10.77.101.2:8080", "weight": 2}, {"id": "s2", "address": "10.77.102.2:8080"}]},
                  {"vip": "[fd77:0:200::1]:80", "backends": []}]}
                """));
        assertThat(c.hook()).isEqualTo(ProxyConfig.Hook.TC);
        assertThat(c.idleTimeout()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.services()).hasSize(2);
        assertThat(c.services().getFirst().algorithm()).isEqualTo(Algorithm.LEAST_CONNECTIONS);
        assertThat(c.services().getFirst().backends().get(1).weight()).isEqualTo(1);
        assertThat(c.services().getFirst().snat().getHostAddress()).isEqualTo("10.77.200.2");
        assertThat(c.services().get(1).mode()).isEqualTo(ProxyConfig.Mode.NAT);
        assertThat(c.services().get(1).snat()).isNull();
        assertThat(c.services().get(1).vip().getAddress().getHostAddress()).isEqualTo("fd77:0:200:0:0:0:0:1");
    }

    @Test
    void aKeygenKeyFileGivesTheProxyTheKeyTheCliUses() throws Exception {
        Path key = dir.resolve("control.key");
        ControlKeys.generate(key);
        ProxyConfig c = ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [], \"control\": \"127.0.0.1:7390\","
                + " \"controlKeyFile\": \"" + key + "\"}"));
        assertThat(c.controlKey()).hasSize(32).isEqualTo(ControlKeys.fromFile(key, warning -> {}));
    }

    @Test
    void garbageIsRejectedWithAPreciseMessage() throws Exception {
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [], \"colour\": 1}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("colour");
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [{\"vip\": \"10.0.0.1:99999\"}]}")))
                .hasMessageContaining("vip: port 99999 in '10.0.0.1:99999' is outside 1-65535");
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [{\"vip\": \"example.com:80\"}]}")))
                .hasMessageContaining("vip: 'example.com' in 'example.com:80' is not an IP address literal");
        // The CLI's reading of an address, no looser: brackets only around IPv6, which needs them, and ASCII port digits.
        for (String loose : new String[] {"fd00::1:80", "[10.0.0.1]:80", "10.0.0.1:+80", "10.0.0.1:\u0668\u0660", "10.1:80"}) {
            assertThatThrownBy(() -> ProxyConfig.address(loose, "vip")).as(loose).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("vip: ");
        }
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1; rm -rf\"], \"services\": []}")))
                .hasMessageContaining("bad interface name");
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [{\"vip\": \"10.0.0.1:80\","
                + " \"backends\": [{\"id\": \"a b\", \"address\": \"10.0.0.2:80\"}]}]}")))
                .hasMessageContaining("backend id");
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [{\"vip\": \"10.0.0.1:80\","
                + " \"backends\": [{\"id\": \"a\", \"address\": \"10.0.0.2:80\", \"weight\": 5000}]}]}")))
                .hasMessageContaining("weight");
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [{\"vip\": \"10.0.0.1:80\", \"snat\": \"10.0.0.9\"}]}")))
                .hasMessageContaining("service 10.0.0.1").hasMessageContaining("for FULL_NAT, not NAT");
        assertThatThrownBy(() -> ProxyConfig.read(fullNatWithSnat("fd00::9")))
                .hasMessageContaining("source address fd00:0:0:0:0:0:0:9 is of another address family");
        assertThatThrownBy(() -> ProxyConfig.read(fullNatWithSnat("proxy.example")))
                .hasMessageContaining("snat: 'proxy.example' is not a numeric IP address");
        for (String unfit : new String[] {"0.0.0.0", "127.0.0.1", "224.0.0.1"}) {
            assertThatThrownBy(() -> ProxyConfig.read(fullNatWithSnat(unfit))).as(unfit)
                    .hasMessageContaining("is a wildcard, loopback or multicast address");
        }
        for (String notAnAddress : new String[] {"cafe", "10", ".", "10.0.0.256", "1::2::3"}) {
            assertThatThrownBy(() -> ProxyConfig.ip(notAnAddress, "snat")).as(notAnAddress)
                    .hasMessage("snat: '" + notAnAddress + "' is not a numeric IP address");
        }
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [{\"vip\": \"cafe:80\"}]}")))
                .hasMessageContaining("vip: 'cafe' in 'cafe:80' is not an IP address literal");
        assertThatThrownBy(() -> ProxyConfig.read(write("[1, 2")))
                .isInstanceOf(IllegalArgumentException.class);
        String vipWithBackend = "{\"interfaces\": [\"c1\"], \"services\": [{\"vip\": \"10.0.0.1:80\", \"backends\": [{\"id\": \"a\","
                + " \"address\": \"10.0.0.2:80\", \"weight\": %s}]}]%s}";
        assertThatThrownBy(() -> ProxyConfig.read(write(vipWithBackend.formatted("2.9", ""))))
                .hasMessageEndingWith("(at services[0].backends[0].weight)");
        assertThatThrownBy(() -> ProxyConfig.read(write(vipWithBackend.formatted("\"2\"", "")))).hasMessageContaining("weight");
        assertThatThrownBy(() -> ProxyConfig.read(write(vipWithBackend.formatted("2", ", \"maxFlows\": \"131072\""))))
                .hasMessageContaining("maxFlows");
        assertThatThrownBy(() -> ProxyConfig.read(write(vipWithBackend.formatted("2", ", \"maxFlows\": 2048, \"maxFlows\": 4096"))))
                .hasMessageContaining("Duplicate field 'maxFlows'");
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\", null], \"services\": []}")))
                .hasMessageContaining("interfaces");
        assertThatThrownBy(() -> ProxyConfig.read(write("{\"interfaces\": [\"c1\"], \"services\": [null]}")))
                .hasMessageContaining("services");
        assertThatThrownBy(() -> ProxyConfig.read(write(vipWithBackend.formatted("2", ", \"idleTimeoutMillis\": 10000000000000"))))
                .hasMessage("idleTimeout of 10000000000000 ms is longer than a day");
        assertThatThrownBy(() -> ProxyConfig.read(dir.resolve("missing.json")))
                .hasMessage("config file " + dir.resolve("missing.json") + ": no such file");
        Path big = dir.resolve("big.json");
        Files.write(big, new byte[(1 << 20) + 1]);
        assertThatThrownBy(() -> ProxyConfig.read(big)).hasMessageContaining("larger than");
    }
}
