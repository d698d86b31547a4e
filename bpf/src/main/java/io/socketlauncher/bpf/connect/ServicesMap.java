package io.socketlauncher.bpf.connect;

import io.socketlauncher.sys.BpfMap;

/** {@code vs_services}: virtual services by (netns cookie, address, port, protocol). */
public final class ServicesMap extends TypedMap<ServiceKey, ServiceValue> {
    public static final String NAME = "vs_services";

    public ServicesMap(BpfMap map) {
        super(map, ServiceKey.SIZE, ServiceKey::encode, ServiceKey::decode,
                ServiceValue.SIZE, ServiceValue::encode, ServiceValue::decode);
    }
}
