package io.socketlauncher.bpf.connect;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** {@code struct vs_real}: a real server of a service; {@code id} is unique over the maps' lifetime. */
public record RealValue(InetSocketAddress address, int weight, int id) {
    public static final int SIZE = 32;

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder());
        InetAddress ip = address.getAddress();
        AddressCodec.putAddress(b, ip);
        AddressCodec.putPort(b, address.getPort());
        b.put((byte) AddressCodec.family(ip)).put((byte) 0);
        b.putInt(weight).putInt(id);
        return b.array();
    }

    public static RealValue decode(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        int family = raw[18];
        InetAddress ip = AddressCodec.getAddress(b, family);
        int port = AddressCodec.getPort(b);
        b.position(20);
        return new RealValue(new InetSocketAddress(ip, port), b.getInt(), b.getInt());
    }
}
