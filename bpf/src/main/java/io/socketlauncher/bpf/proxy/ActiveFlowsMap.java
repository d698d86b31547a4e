package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The {@code backend_active} array the least-connections choice reads: the data plane counts new flows
 * up, the control plane sets each backend's true count after every expiry sweep.
 */
public final class ActiveFlowsMap {
    private final BpfMap map;

    ActiveFlowsMap(BpfMap map) {
        this.map = map;
    }

    public void set(int slot, long flows) throws NativeException {
        map.update(BackendsMap.key(slot), ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(flows).array(), BpfMap.ANY);
    }
}
