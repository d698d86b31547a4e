package io.socketlauncher.bpf.connect;

import io.socketlauncher.sys.BpfMap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** {@code vs_ring}: the schedule of a service, (service id, position) to real index. */
public final class RingMap extends TypedMap<RealKey, Integer> {
    public static final String NAME = "vs_ring";

    public RingMap(BpfMap map) {
        super(map, RealKey.SIZE, RealKey::encode, RealKey::decode, 4,
                i -> ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(i).array(),
                raw -> ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()).getInt());
    }
}
