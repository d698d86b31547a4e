package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The {@code snat_links} set: the interfaces (by ifindex) that lead to a backend of a service with one full-NAT source
 * address, per service id. A packet from that address is forwarded to the service's backends only if it arrived by
 * one of them (a migrating server's forwarding), not from a client's side.
 */
public final class SnatLinksMap {
    private final BpfMap map;

    SnatLinksMap(BpfMap map) {
        this.map = map;
    }

    public void add(int ifindex, int service) throws NativeException {
        map.update(key(ifindex, service), BackendsMap.key(1), BpfMap.ANY);
    }

    public boolean remove(int ifindex, int service) throws NativeException {
        return map.delete(key(ifindex, service));
    }

    static byte[] key(int ifindex, int service) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putInt(ifindex).putInt(service).array();
    }
}
