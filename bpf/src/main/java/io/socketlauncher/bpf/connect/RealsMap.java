package io.socketlauncher.bpf.connect;

import io.socketlauncher.sys.BpfMap;

/** {@code vs_reals}: real servers by (service id, index). */
public final class RealsMap extends TypedMap<RealKey, RealValue> {
    public static final String NAME = "vs_reals";

    public RealsMap(BpfMap map) {
        super(map, RealKey.SIZE, RealKey::encode, RealKey::decode, RealValue.SIZE, RealValue::encode, RealValue::decode);
    }
}
