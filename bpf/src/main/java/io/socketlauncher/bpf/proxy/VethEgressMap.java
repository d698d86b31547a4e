package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;

/**
 * The {@code veth_egress} set: interfaces (by ifindex, in the proxy's namespace) that are veths. TC hands
 * packets leaving through them to the peer's ingress directly (bpf_redirect_peer); the helper fails on
 * anything but a veth, so only interfaces known to be veths may be listed.
 */
public final class VethEgressMap {
    public static final int MAX_INTERFACES = 256;

    private final BpfMap map;

    VethEgressMap(BpfMap map) {
        this.map = map;
    }

    public void add(int ifindex) throws NativeException {
        map.update(BackendsMap.key(ifindex), BackendsMap.key(1), BpfMap.ANY);
    }

    public boolean remove(int ifindex) throws NativeException {
        return map.delete(BackendsMap.key(ifindex));
    }
}
