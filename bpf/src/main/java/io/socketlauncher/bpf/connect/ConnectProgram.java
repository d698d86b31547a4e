package io.socketlauncher.bpf.connect;

import io.socketlauncher.sys.BpfObject;

import java.util.List;

/** Names in connect.bpf.o: the object resource, its programs (one per cgroup hook) and its maps. */
public final class ConnectProgram {
    public static final String RESOURCE = "/bpf/connect.bpf.o";
    public static final List<String> PROGRAMS = List.of(
            "vs_connect4", "vs_connect6", "vs_sendmsg4", "vs_sendmsg6", "vs_recvmsg4", "vs_recvmsg6",
            "vs_getpeername4", "vs_getpeername6", "vs_sock_release");
    public static final List<String> MAPS = List.of(
            ServicesMap.NAME, RealsMap.NAME, RingMap.NAME, StatsMap.NAME,
            "vs_cursor", "vs_socks", "vs_udp_forward", "vs_udp_reverse");

    private ConnectProgram() {
    }

    /** Opens (does not load) connect.bpf.o from the class path. */
    public static io.socketlauncher.sys.BpfObject open() throws io.socketlauncher.sys.NativeException {
        return BpfObject.openResource(BpfObject.class, RESOURCE);
    }
}
