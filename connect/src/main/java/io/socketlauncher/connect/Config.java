package io.socketlauncher.connect;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The text form of a configuration, like ipvsadm-save: one {@code -A} line per service and one {@code -a}
 * line per real server, e.g.
 * <pre>
 * -A -t 10.77.200.1:6379 -s wrr
 * -a -t 10.77.200.1:6379 -r 10.77.101.2:6379 -w 3
 * -A -u [fd77:0:200::1]:53 -s rr --netns client1
 * </pre>
 * The parser is strict (every token checked, addresses are literals, never names to resolve) and bounded.
 */
public final class Config {
    public static final int MAX_TEXT = 1 << 20, MAX_LINE = 512, MAX_WEIGHT = 10_000;

    public sealed interface Line permits ServiceLine, RealLine {
    }

    public record ServiceLine(Service service, Scheduler scheduler) implements Line {
    }

    public record RealLine(Service service, InetSocketAddress real, int weight) implements Line {
    }

    private Config() {
    }

    public static String format(List<ServiceStatus> services) {
        StringBuilder out = new StringBuilder();
        for (ServiceStatus s : services) {
            String vip = s.service().protocol().flag() + " " + format(s.service().address());
            String netns = s.service().netns().isEmpty() ? "" : " --netns " + s.service().netns();
            out.append("-A ").append(vip).append(" -s ").append(s.scheduler().label()).append(netns).append('\n');
            for (RealServer r : s.reals()) {
                out.append("-a ").append(vip).append(" -r ").append(format(r.address())).append(" -w ").append(r.weight())
                        .append(netns).append('\n');
            }
        }
        return out.toString();
    }

    /** Parses a whole configuration; the first bad line fails it all, naming the line. */
    public static List<Line> parse(String text) {
        if (text.length() > MAX_TEXT) throw new IllegalArgumentException("configuration larger than " + MAX_TEXT + " characters");
        List<Line> lines = new ArrayList<>();
        String[] raw = text.split("\n", -1);
        for (int n = 0; n < raw.length; n++) {
            String line = raw[n].strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            try {
                if (line.length() > MAX_LINE) throw new IllegalArgumentException("line longer than " + MAX_LINE + " characters");
                lines.add(parseLine(line.split("[ \t]+")));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + (n + 1) + ": " + e.getMessage(), e);
            }
        }
        return lines;
    }

    private static Line parseLine(String[] tokens) {
        String verb = tokens[0];
        if (!verb.equals("-A") && !verb.equals("-a")) throw new IllegalArgumentException("expected -A or -a, found '" + shorten(verb) + "'");
        Protocol protocol = null;
        InetSocketAddress vip = null, real = null;
        Scheduler scheduler = null;
        Integer weight = null;
        String netns = "";
        Set<String> seen = new HashSet<>();
        for (int i = 1; i < tokens.length; i += 2) {
            String option = tokens[i];
            if (i + 1 >= tokens.length) throw new IllegalArgumentException("option '" + shorten(option) + "' lacks its value");
            String value = tokens[i + 1];
            // A second value would silently replace the first.
            if (!seen.add(option.equals("-u") ? "-t" : option)) {
                throw new IllegalArgumentException(option.equals("-t") || option.equals("-u") ? "more than one -t/-u" : "option " + option + " given twice");
            }
            switch (option) {
                case "-t", "-u" -> {
                    protocol = option.equals("-t") ? Protocol.TCP : Protocol.UDP;
                    vip = parseEndpoint(value);
                }
                case "-s" -> {
                    if (!verb.equals("-A")) throw new IllegalArgumentException("-s belongs to -A lines");
                    scheduler = Scheduler.parse(value);
                }
                case "-r" -> {
                    if (!verb.equals("-a")) throw new IllegalArgumentException("-r belongs to -a lines");
                    real = parseEndpoint(value);
                }
                case "-w" -> {
                    if (!verb.equals("-a")) throw new IllegalArgumentException("-w belongs to -a lines");
                    weight = parseWeight(value);
                }
                case "--netns" -> netns = parseNetns(value);
                default -> throw new IllegalArgumentException("unknown option '" + shorten(option) + "'");
            }
        }
        if (protocol == null) throw new IllegalArgumentException("missing -t or -u VIP:PORT");
        Service service = new Service(protocol, vip, netns);
        if (verb.equals("-A")) return new ServiceLine(service, scheduler == null ? Scheduler.WRR : scheduler);
        if (real == null) throw new IllegalArgumentException("missing -r REAL:PORT");
        return new RealLine(service, real, weight == null ? 1 : weight);
    }

    /** {@code 10.0.0.1:80} or {@code [fd00::1]:80}: a literal address and a port 1..65535. */
    public static InetSocketAddress parseEndpoint(String text) {
        if (text.length() > 64) throw new IllegalArgumentException("address '" + shorten(text) + "' is too long");
        String host, port;
        if (text.startsWith("[")) {
            int close = text.indexOf("]:");
            if (close < 0) throw new IllegalArgumentException("bad address '" + text + "': expected [IPV6]:PORT");
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0 || text.indexOf(':') != colon) throw new IllegalArgumentException("bad address '" + text + "': expected IPV4:PORT or [IPV6]:PORT");
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        String notLiteral = "bad address '" + text + "': '" + host + "' is not an IP address literal";
        // ofLiteral also takes "10" for 0.0.0.10 and "10.1" for 10.0.0.1: legal, and never what anyone meant.
        if (!host.contains(":") && !host.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) throw new IllegalArgumentException(notLiteral);
        InetAddress address;
        try {
            address = InetAddress.ofLiteral(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(notLiteral);
        }
        if (text.startsWith("[") != (address instanceof Inet6Address)) {
            throw new IllegalArgumentException("bad address '" + text + "': IPv6 addresses go in brackets, IPv4 ones not");
        }
        if (address.isAnyLocalAddress() || address.isMulticastAddress()) {
            throw new IllegalArgumentException("bad address '" + text + "': not a unicast address");
        }
        if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("bad address '" + text + "': port must be 1..65535");
        }
        return new InetSocketAddress(address, Integer.parseInt(port));
    }

    public static int parseWeight(String text) {
        if (!text.matches("[0-9]{1,6}") || Integer.parseInt(text) > MAX_WEIGHT) {
            throw new IllegalArgumentException("bad weight '" + shorten(text) + "': must be 0.." + MAX_WEIGHT);
        }
        return Integer.parseInt(text);
    }

    public static String parseNetns(String text) {
        if (!text.matches("[A-Za-z0-9_.-]{1,64}") || text.startsWith(".")) {
            throw new IllegalArgumentException("bad network namespace name '" + shorten(text) + "'");
        }
        return text;
    }

    public static String format(InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        if (ip instanceof Inet6Address) return "[" + compress(ip.getAddress()) + "]:" + address.getPort();
        return ip.getHostAddress() + ":" + address.getPort();
    }

    /** RFC 5952 text: lower case, the longest run of two or more zero groups as "::". */
    static String compress(byte[] raw) {
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) groups[i] = ((raw[2 * i] & 0xff) << 8) | (raw[2 * i + 1] & 0xff);
        int bestStart = -1, bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) j++;
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLength - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') out.append(':');
            out.append(Integer.toHexString(groups[i]));
        }
        return out.toString();
    }

    static boolean sameFamily(InetSocketAddress a, InetSocketAddress b) {
        return (a.getAddress() instanceof Inet4Address) == (b.getAddress() instanceof Inet4Address);
    }

    static String shorten(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }
}
