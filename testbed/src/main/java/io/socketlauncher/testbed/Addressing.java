package io.socketlauncher.testbed;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The testbed's address plan, derived from role and index alone so that a testbed found by name (after a
 * crash, or by {@code testbed status}) can be described without any saved state.
 * Each client or server has its own /24 (and /64) to the load-balancer host: client i on 10.77.i.0/24,
 * server i on 10.77.(100+i).0/24; the host is .2, the load balancer .1. The service address is 10.77.200.1,
 * and 10.77.200.2, on the load balancer's loopback, is the proxy's full-NAT source address. IPv6 mirrors it: fd77:0:LINK::2/64 and
 * fd77:0:LINK::1, service fd77:0:200::1, proxy source fd77:0:200::2.
 */
final class Addressing {
    static final int MAX_CLIENTS = 99, MAX_SERVERS = 99;
    static final String HOST_INTERFACE = "eth0";
    static final Inet4Address SERVICE = v4(10, 77, 200, 1);
    static final Inet6Address SERVICE6 = v6(200, 1);
    static final Inet4Address PROXY_SOURCE = v4(10, 77, 200, 2);
    static final Inet6Address PROXY_SOURCE6 = v6(200, 2);

    private Addressing() {}

    static int linkNumber(Host.Role role, int index) {
        return switch (role) {
            case CLIENT -> index;
            case SERVER -> 100 + index;
            case LB -> 1;
        };
    }

    static Inet4Address hostAddress(Host.Role role, int index) {
        return role == Host.Role.LB ? gateway(Host.Role.CLIENT, 1) : v4(10, 77, linkNumber(role, index), 2);
    }

    static Inet4Address gateway(Host.Role role, int index) {
        return v4(10, 77, linkNumber(role, index), 1);
    }

    static Inet6Address hostAddress6(Host.Role role, int index) {
        return role == Host.Role.LB ? gateway6(Host.Role.CLIENT, 1) : v6(linkNumber(role, index), 2);
    }

    static Inet6Address gateway6(Host.Role role, int index) {
        return v6(linkNumber(role, index), 1);
    }

    static String lbInterface(Host.Role role, int index) {
        return switch (role) {
            case CLIENT -> "c" + index;
            case SERVER -> "s" + index;
            case LB -> null;
        };
    }

    /** RFC 5952 text form (the JDK prints every zero group): fd77:0:101::2. */
    static String format(InetAddress address) {
        if (!(address instanceof Inet6Address)) return address.getHostAddress();
        byte[] raw = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) groups[i] = ((raw[2 * i] & 0xff) << 8) | (raw[2 * i + 1] & 0xff);
        int bestStart = -1, bestLength = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) j++;
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j == i ? i + 1 : j;
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

    private static Inet4Address v4(int a, int b, int c, int d) {
        try {
            return (Inet4Address) InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** fd77:0:LINK::HOST, with LINK's decimal digits written as hex digits so 101 reads as fd77:0:101::. */
    private static Inet6Address v6(int decimalLink, int host) {
        int link = Integer.parseInt(Integer.toString(decimalLink), 16);
        byte[] raw = new byte[16];
        raw[0] = (byte) 0xfd;
        raw[1] = 0x77;
        raw[4] = (byte) (link >>> 8);
        raw[5] = (byte) link;
        raw[14] = (byte) (host >>> 8);
        raw[15] = (byte) host;
        try {
            return (Inet6Address) InetAddress.getByAddress(raw);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
