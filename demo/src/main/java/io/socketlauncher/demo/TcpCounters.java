package io.socketlauncher.demo;

import io.socketlauncher.testbed.Host;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * The TCP counters of one host's namespace from {@code /proc/net/snmp} (read by a {@code cat} running in
 * that namespace: /proc/self/net follows the process, not a Java thread that entered a namespace).
 */
public record TcpCounters(long retransmittedSegments, long establishedResets, long resetsSent, long segmentsIn) {
    public static TcpCounters of(Host host) throws IOException {
        return parse(host.exec("cat", "/proc/net/snmp").stdout());
    }

    static TcpCounters parse(String snmp) {
        List<String> tcp = snmp.lines().filter(l -> l.startsWith("Tcp:")).toList();
        if (tcp.size() != 2) throw new IllegalStateException("no Tcp header and value lines in /proc/net/snmp");
        List<String> names = Arrays.asList(tcp.get(0).split("\\s+"));
        String[] values = tcp.get(1).split("\\s+");
        return new TcpCounters(value(names, values, "RetransSegs"), value(names, values, "EstabResets"),
                value(names, values, "OutRsts"), value(names, values, "InSegs"));
    }

    private static long value(List<String> names, String[] values, String name) {
        int i = names.indexOf(name);
        if (i < 0 || i >= values.length) throw new IllegalStateException("/proc/net/snmp has no Tcp " + name);
        return Long.parseLong(values[i]);
    }

    public TcpCounters minus(TcpCounters before) {
        return new TcpCounters(retransmittedSegments - before.retransmittedSegments, establishedResets - before.establishedResets,
                resetsSent - before.resetsSent, segmentsIn - before.segmentsIn);
    }
}
