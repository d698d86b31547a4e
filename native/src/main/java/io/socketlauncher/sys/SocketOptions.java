package io.socketlauncher.sys;

import java.util.Map;

/** Names of socket options, so an error says {@code setsockopt(TCP_REPAIR_WINDOW)} rather than a number. */
final class SocketOptions {
    private static final Map<Integer, String> TCP = Map.ofEntries(
            Map.entry(Libc.TCP_NODELAY, "TCP_NODELAY"), Map.entry(Libc.TCP_MAXSEG, "TCP_MAXSEG"),
            Map.entry(Libc.TCP_CORK, "TCP_CORK"), Map.entry(Libc.TCP_KEEPIDLE, "TCP_KEEPIDLE"),
            Map.entry(Libc.TCP_KEEPINTVL, "TCP_KEEPINTVL"), Map.entry(Libc.TCP_KEEPCNT, "TCP_KEEPCNT"),
            Map.entry(Libc.TCP_INFO, "TCP_INFO"), Map.entry(Libc.TCP_QUICKACK, "TCP_QUICKACK"),
            Map.entry(Libc.TCP_CONGESTION, "TCP_CONGESTION"), Map.entry(Libc.TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT"),
            Map.entry(Libc.TCP_REPAIR, "TCP_REPAIR"), Map.entry(Libc.TCP_REPAIR_QUEUE, "TCP_REPAIR_QUEUE"),
            Map.entry(Libc.TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ"), Map.entry(Libc.TCP_REPAIR_OPTIONS, "TCP_REPAIR_OPTIONS"),
            Map.entry(Libc.TCP_TIMESTAMP, "TCP_TIMESTAMP"), Map.entry(Libc.TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT"),
            Map.entry(Libc.TCP_REPAIR_WINDOW, "TCP_REPAIR_WINDOW"));
    private static final Map<Integer, String> SOCKET = Map.ofEntries(
            Map.entry(Libc.SO_REUSEADDR, "SO_REUSEADDR"), Map.entry(Libc.SO_ERROR, "SO_ERROR"),
            Map.entry(Libc.SO_SNDBUF, "SO_SNDBUF"), Map.entry(Libc.SO_RCVBUF, "SO_RCVBUF"),
            Map.entry(Libc.SO_KEEPALIVE, "SO_KEEPALIVE"), Map.entry(Libc.SO_LINGER, "SO_LINGER"),
            Map.entry(Libc.SO_REUSEPORT, "SO_REUSEPORT"), Map.entry(Libc.SO_RCVLOWAT, "SO_RCVLOWAT"),
            Map.entry(Libc.SO_SNDBUFFORCE, "SO_SNDBUFFORCE"), Map.entry(Libc.SO_RCVBUFFORCE, "SO_RCVBUFFORCE"),
            Map.entry(Libc.SO_MARK, "SO_MARK"), Map.entry(Libc.SO_COOKIE, "SO_COOKIE"));

    private SocketOptions() {}

    static String name(int level, int option) {
        String name = switch (level) {
            case Libc.SOL_TCP -> TCP.get(option);
            case Libc.SOL_SOCKET -> SOCKET.get(option);
            default -> null;
        };
        return name != null ? name : "level " + level + " option " + option;
    }
}
