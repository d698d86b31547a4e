package io.socketlauncher.proxy.control;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Text forms of addresses for operators: {@code 10.0.0.1:80}, {@code [fd00::1]:80}, and a flow as
 * {@code CLIENT-VIP}, e.g. {@code 10.77.1.2:40000-10.77.200.1:6379}. Only IP literals: a control command must
 * never depend on name resolution.
 */
public final class Endpoints {
    private static final int MAX_TEXT = 128;

    private Endpoints() {
    }

    public static InetSocketAddress parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("address is empty; expected IP:PORT or [IPv6]:PORT");
        }
        if (text.length() > MAX_TEXT) {
            throw new IllegalArgumentException("address of " + text.length() + " characters is too long");
        }
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':' || text.indexOf(':') > close) {
                throw new IllegalArgumentException("address '" + text + "' is not of the form [IPv6]:PORT");
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0 || text.indexOf(':') != colon) {
                throw new IllegalArgumentException("address '" + text
                        + "' is not of the form IPv4:PORT or [IPv6]:PORT");
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        InetAddress ip;
        try {
            ip = ipLiteral(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + host + "' in '" + text + "' is not an IP address literal");
        }
        return new InetSocketAddress(ip, port(port, text));
    }

    /**
     * A numeric IPv4 address of four parts or an IPv6 address, never looked up. The shorter IPv4 forms ("10" for
     * 0.0.0.10) are legal literals but never what anyone meant.
     */
    public static InetAddress ipLiteral(String text) {
        if (text == null || text.isEmpty() || text.length() > 45 || (!text.contains(":") && !text.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}"))) {
            throw new IllegalArgumentException("'" + text + "' is not a numeric IP address");
        }
        try {
            return InetAddress.ofLiteral(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "' is not a numeric IP address");
        }
    }

    /** A flow as {@code CLIENTIP:PORT-VIP:PORT}. */
    public static FlowKey parseFlow(String text) {
        if (text == null || text.length() > 2 * MAX_TEXT + 1) {
            throw new IllegalArgumentException("flow is missing or too long; expected CLIENTIP:PORT-VIP:PORT");
        }
        int dash = text.indexOf('-');
        if (dash < 0 || text.indexOf('-', dash + 1) >= 0) {
            throw new IllegalArgumentException("flow '" + text + "' is not of the form CLIENTIP:PORT-VIP:PORT");
        }
        return new FlowKey(parse(text.substring(0, dash)), parse(text.substring(dash + 1)));
    }

    public static String format(InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        if (ip == null) {
            return address.getHostString() + ":" + address.getPort();
        }
        String host = ip.getHostAddress();
        return (ip instanceof Inet6Address ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    public static String format(FlowKey flow) {
        return format(flow.client()) + "-" + format(flow.vip());
    }

    private static int port(String text, String whole) {
        if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("port '" + text + "' in '" + whole + "' is not a number 1-65535");
        }
        int port = Integer.parseInt(text);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " in '" + whole + "' is outside 1-65535");
        }
        return port;
    }
}
