package io.socketlauncher.server;

import io.socketlauncher.testbed.Host;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The Tcp and TcpExt counters of a host (/proc/net/snmp and /proc/net/netstat): RetransSegs, TCPLossProbes, ... */
record KernelCounters(Map<String, Long> values) {
    static KernelCounters of(Host host) throws IOException {
        Map<String, Long> values = new HashMap<>();
        read(host, "/proc/net/snmp", "Tcp:", values);
        read(host, "/proc/net/netstat", "TcpExt:", values);
        return new KernelCounters(values);
    }

    private static void read(Host host, String file, String prefix, Map<String, Long> into) throws IOException {
        List<String> lines = host.exec("cat", file).stdout().lines().filter(l -> l.startsWith(prefix)).toList();
        if (lines.size() != 2) throw new IOException("unexpected " + file + " in " + host + ": " + lines);
        String[] names = lines.get(0).split("\\s+");
        String[] numbers = lines.get(1).split("\\s+");
        for (int i = 1; i < names.length; i++) into.put(names[i], Long.parseLong(numbers[i]));
    }

    long since(KernelCounters earlier, String name) {
        return values.getOrDefault(name, 0L) - earlier.values.getOrDefault(name, 0L);
    }

    /** Every counter that moved, for a report. */
    String changesSince(KernelCounters earlier, String... names) {
        StringBuilder b = new StringBuilder();
        for (String n : names) b.append(n).append(" +").append(since(earlier, n)).append(' ');
        return b.toString().strip();
    }
}
