package io.socketlauncher.bpf.proxy;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/** struct proxy_service_key: a TCP endpoint, a service's virtual address or (snat_backends) where a backend listens. */
public record ServiceKey(InetSocketAddress address) {
    static final int SIZE = 20;

    public byte[] encode() {
        byte[] out = new byte[SIZE];
        ByteBuffer b = Wire.buffer(out);
        Wire.putAddress(b, address.getAddress());
        Wire.putPort(b, address.getPort());
        b.put((byte) Wire.family(address.getAddress())).put((byte) Wire.IPPROTO_TCP);
        return out;
    }
}
