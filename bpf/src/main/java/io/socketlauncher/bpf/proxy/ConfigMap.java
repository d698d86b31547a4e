package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;

/** The {@code config} array: the full-NAT source port range. */
public final class ConfigMap {
    private final BpfMap map;

    ConfigMap(BpfMap map) {
        this.map = map;
    }

    public void setNatPorts(int min, int max) throws NativeException {
        if (min < 1 || max > 65535 || min > max) throw new IllegalArgumentException("bad NAT port range " + min + "-" + max);
        byte[] value = new byte[8];
        Wire.buffer(value).putShort((short) min).putShort((short) max);
        map.update(BackendsMap.key(0), value, BpfMap.ANY);
    }
}
