package io.socketlauncher.testbed;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A host's TCP counters: the {@code Tcp} line of /proc/net/snmp (RetransSegs, EstabResets, OutRsts, ...) and
 * the {@code TcpExt} line of /proc/net/netstat (TCPLossProbes, TCPDSACKOldSent, ...). Read by a {@code cat}
 * running in the host's namespace: /proc/net follows the reading process, not a Java thread that entered
 * a namespace.
 */
public record TcpCounters(Map<String, Long> values) {
    public TcpCounters {
        values = Map.copyOf(values);
    }

    public static TcpCounters of(Host host) throws IOException {
        return parse(host.exec("cat", "/proc/net/snmp", "/proc/net/netstat").stdout());
    }

    static TcpCounters parse(String procNet) {
        Map<String, Long> values = new HashMap<>();
        read(procNet, "Tcp:", values);
        read(procNet, "TcpExt:", values);
        return new TcpCounters(values);
    }

    private static void read(String procNet, String prefix, Map<String, Long> into) {
        List<String> lines = procNet.lines().filter(l -> l.startsWith(prefix + " ")).toList();
        if (lines.size() != 2) throw new IllegalStateException("expected a header and a value line for " + prefix + ", found " + lines.size());
        String[] names = lines.get(0).split("\\s+");
        String[] numbers = lines.get(1).split("\\s+");
        if (names.length != numbers.length) throw new IllegalStateException(prefix + " has " + names.length + " names but " + numbers.length + " values");
        for (int i = 1; i < names.length; i++) into.put(names[i], Long.parseLong(numbers[i]));
    }

    /** How much counter {@code name} grew since {@code earlier}; an unknown name is an error, not a silent 0. */
    public long since(TcpCounters earlier, String name) {
        return value(name) - earlier.value(name);
    }

    public long value(String name) {
        Long v = values.get(name);
        if (v == null) throw new IllegalArgumentException("no TCP counter named " + name);
        return v;
    }

    /** The named counters' increases, for a report: {@code RetransSegs +3 OutRsts +0}. */
    public String describe(TcpCounters earlier, String... names) {
        StringBuilder b = new StringBuilder();
        for (String n : names) b.append(b.isEmpty() ? "" : " ").append(n).append(" +").append(since(earlier, n));
        return b.toString();
    }
}
