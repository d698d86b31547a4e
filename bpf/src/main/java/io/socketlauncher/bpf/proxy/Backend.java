package io.socketlauncher.bpf.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * struct proxy_backend: where a backend listens, the proxy's source address towards it (full NAT; null
 * in NAT mode) and the service it belongs to. {@code inUse} false marks a free slot.
 */
public record Backend(InetSocketAddress address, InetAddress snat, int service, boolean inUse) {
    public static final int MAX_BACKENDS = 256;
    static final int SIZE = 40;

    public static final Backend FREE = new Backend(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), null, 0, false);

    public byte[] encode() {
        if (!inUse) return new byte[SIZE];
        byte[] out = new byte[SIZE];
        ByteBuffer b = Wire.buffer(out);
        Wire.putAddress(b, address.getAddress());
        Wire.putAddress(b, snat);
        Wire.putPort(b, address.getPort());
        b.put((byte) Wire.family(address.getAddress())).put((byte) 1).putInt(service);
        return out;
    }
}
