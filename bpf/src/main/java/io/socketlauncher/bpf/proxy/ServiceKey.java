package io.socketlauncher.bpf.proxy;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/** struct proxy_service_key: a virtual address and port. */
public record ServiceKey(InetSocketAddress vip) {
    static final int SIZE = 20;

    public byte[] encode() {
        byte[] out = new byte[SIZE];
        ByteBuffer b = Wire.buffer(out);
        Wire.putAddress(b, vip.getAddress());
        Wire.putPort(b, vip.getPort());
        b.put((byte) Wire.family(vip.getAddress())).put((byte) Wire.IPPROTO_TCP);
        return out;
    }
}
