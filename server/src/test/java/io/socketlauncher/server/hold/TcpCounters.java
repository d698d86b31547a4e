package io.socketlauncher.server.hold;

import io.socketlauncher.testbed.Host;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A host's TCP counters: the Tcp line of /proc/net/snmp (RetransSegs, OutRsts, ...) and TcpExt of /proc/net/netstat. */
record TcpCounters(Map<String, Long> values) {
    static TcpCounters of(Host host) throws IOException {
        Map<String, Long> values = new HashMap<>();
        read(host, "/proc/net/snmp", "Tcp:", values);
        read(host, "/proc/net/netstat", "TcpExt:", values);
        return new TcpCounters(values);
    }

    private static void read(Host host, String file, String prefix, Map<String, Long> into) throws IOException {
        List<String> lines = host.exec("cat", file).stdout().lines().filter(l -> l.startsWith(prefix)).toList();
        if (lines.size() != 2) throw new IOException("unexpected " + file + " in " + host + ": " + lines);
        String[] names = lines.get(0).split("\\s+");
        String[] numbers = lines.get(1).split("\\s+");
        for (int i = 1; i < names.length; i++) into.put(names[i], Long.parseLong(numbers[i]));
    }

    long since(TcpCounters earlier, String name) {
        return values.get(name) - earlier.values.get(name);
    }

    /** The named counters' increases, for a test's printout. */
    String describe(TcpCounters earlier, String... names) {
        StringBuilder b = new StringBuilder();
        for (String n : names) b.append(b.isEmpty() ? "" : " ").append(n).append(" +").append(since(earlier, n));
        return b.toString();
    }
}
