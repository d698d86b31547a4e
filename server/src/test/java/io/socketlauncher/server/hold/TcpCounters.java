package io.socketlauncher.server.hold;

import io.socketlauncher.testbed.Host;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The Tcp line of a host's /proc/net/snmp: RetransSegs, OutRsts, EstabResets, ... */
record TcpCounters(Map<String, Long> values) {
    static TcpCounters of(Host host) throws IOException {
        List<String> lines = host.exec("cat", "/proc/net/snmp").stdout().lines().filter(l -> l.startsWith("Tcp:")).toList();
        if (lines.size() != 2) throw new IOException("unexpected /proc/net/snmp in " + host + ": " + lines);
        String[] names = lines.get(0).split("\\s+");
        String[] numbers = lines.get(1).split("\\s+");
        Map<String, Long> values = new HashMap<>();
        for (int i = 1; i < names.length; i++) values.put(names[i], Long.parseLong(numbers[i]));
        return new TcpCounters(values);
    }

    long since(TcpCounters earlier, String name) {
        return values.get(name) - earlier.values.get(name);
    }
}
