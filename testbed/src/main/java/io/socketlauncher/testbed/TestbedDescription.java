package io.socketlauncher.testbed;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What {@code testbed status --json} prints: namespaces, their addresses, and the service address. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TestbedDescription(List<HostDescription> hosts, String serviceAddress, String serviceAddress6) {
    private static final Pattern HOST = Pattern.compile("^.*-(lb|c(\\d+)|s(\\d+))$");

    public record HostDescription(String namespace, String role, int index, String address, String address6,
                                  String gateway, String interfaceToLb, String lbInterface) {}

    static TestbedDescription of(Testbed testbed) {
        List<HostDescription> hosts = new ArrayList<>();
        for (Host h : testbed.hosts()) hosts.add(describe(h.name(), h.role(), h.index()));
        return new TestbedDescription(hosts, Addressing.SERVICE.getHostAddress(), Addressing.format(Addressing.SERVICE6));
    }

    static TestbedDescription fromNames(List<String> names) {
        List<HostDescription> hosts = new ArrayList<>();
        for (String name : names) {
            Matcher m = HOST.matcher(name);
            if (!m.matches()) continue;
            if (m.group(2) != null) hosts.add(describe(name, Host.Role.CLIENT, Integer.parseInt(m.group(2))));
            else if (m.group(3) != null) hosts.add(describe(name, Host.Role.SERVER, Integer.parseInt(m.group(3))));
            else hosts.add(describe(name, Host.Role.LB, 0));
        }
        hosts.sort(Comparator.comparing((HostDescription h) -> h.role().equals("lb") ? 0 : h.role().equals("client") ? 1 : 2)
                .thenComparingInt(HostDescription::index));
        return new TestbedDescription(hosts, Addressing.SERVICE.getHostAddress(), Addressing.format(Addressing.SERVICE6));
    }

    private static HostDescription describe(String name, Host.Role role, int index) {
        boolean lb = role == Host.Role.LB;
        return new HostDescription(name, role.name().toLowerCase(), index,
                Addressing.hostAddress(role, index).getHostAddress(),
                Addressing.format(Addressing.hostAddress6(role, index)),
                lb ? null : Addressing.gateway(role, index).getHostAddress(),
                lb ? null : Addressing.HOST_INTERFACE,
                Addressing.lbInterface(role, index));
    }
}
