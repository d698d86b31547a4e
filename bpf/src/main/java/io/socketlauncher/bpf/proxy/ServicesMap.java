package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;

/** The {@code services} hash: VIP to service. Replacing a value is atomic for the data plane. */
public final class ServicesMap {
    private final BpfMap map;

    ServicesMap(BpfMap map) {
        this.map = map;
    }

    public void put(ServiceKey key, Service service) throws NativeException {
        map.update(key.encode(), service.encode(), BpfMap.ANY);
    }

    public boolean remove(ServiceKey key) throws NativeException {
        return map.delete(key.encode());
    }
}
