package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The {@code backends} array, indexed by backend slot. */
public final class BackendsMap {
    private final BpfMap map;

    BackendsMap(BpfMap map) {
        this.map = map;
    }

    public void put(int slot, Backend backend) throws NativeException {
        checkSlot(slot);
        map.update(key(slot), backend.encode(), BpfMap.ANY);
    }

    public void free(int slot) throws NativeException {
        put(slot, Backend.FREE);
    }

    static void checkSlot(int slot) {
        if (slot < 0 || slot >= Backend.MAX_BACKENDS) throw new IllegalArgumentException("backend slot out of range: " + slot);
    }

    static byte[] key(int index) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(index).array();
    }
}
