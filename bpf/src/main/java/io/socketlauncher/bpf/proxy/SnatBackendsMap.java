package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.net.InetSocketAddress;

/**
 * The {@code snat_backends} map: the backends of full-NAT services that name one source address for all their
 * backends, by where they listen, to their slot. A packet from that service's source address to one of them is a
 * backend sending a segment on to another (a live migration's forwarding); the data plane forwards it, where the
 * kernel would drop it for carrying a local source address.
 */
public final class SnatBackendsMap {
    private final BpfMap map;

    SnatBackendsMap(BpfMap map) {
        this.map = map;
    }

    public void put(InetSocketAddress backend, int slot) throws NativeException {
        map.update(key(backend), BackendsMap.key(slot), BpfMap.ANY);
    }

    public boolean remove(InetSocketAddress backend) throws NativeException {
        return map.delete(key(backend));
    }

    private static byte[] key(InetSocketAddress backend) {
        return new ServiceKey(backend).encode();
    }
}
