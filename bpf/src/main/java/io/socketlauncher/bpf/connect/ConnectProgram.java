package io.socketlauncher.bpf.connect;

import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.NativeException;
import java.util.List;

/** Names in connect.bpf.o (the cgroup hooks) and connect_close.bpf.o (the socket closer): resources, programs, maps. */
public final class ConnectProgram {
    public static final String RESOURCE = "/bpf/connect.bpf.o";
    public static final List<String> PROGRAMS = List.of(
            "vs_connect4", "vs_connect6", "vs_sendmsg4", "vs_sendmsg6", "vs_recvmsg4", "vs_recvmsg6",
            "vs_getpeername4", "vs_getpeername6", "vs_sock_release");
    public static final String SOCKETS = "vs_socks";
    public static final List<String> MAPS = List.of(
            ServicesMap.NAME, RealsMap.NAME, RingMap.NAME, StatsMap.NAME,
            "vs_cursor", SOCKETS, "vs_udp_forward", "vs_udp_reverse");

    /** A TCP socket iterator destroying the balanced sockets of one real server; shares {@link #SOCKETS}. */
    public static final String CLOSER_RESOURCE = "/bpf/connect_close.bpf.o";
    public static final String CLOSE_PROGRAM = "vs_close_tcp", CLOSE_CONTROL = "vs_close";

    private ConnectProgram() {
    }

    /** Opens (does not load) connect.bpf.o from the class path. */
    public static BpfObject open() throws NativeException {
        return BpfObject.openResource(BpfObject.class, RESOURCE);
    }

    public static BpfObject openCloser() throws NativeException {
        return BpfObject.openResource(BpfObject.class, CLOSER_RESOURCE);
    }
}
