package io.socketlauncher.bpf.connect;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** {@code struct vs_key}: a virtual service as clients of one network namespace address it. */
public record ServiceKey(long netnsCookie, InetSocketAddress address, int protocol) {
    public static final int SIZE = 32;
    public static final int TCP = 6, UDP = 17;

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder());
        b.putLong(netnsCookie);
        InetAddress ip = address.getAddress();
        AddressCodec.putAddress(b, ip);
        AddressCodec.putPort(b, address.getPort());
        b.put((byte) protocol).put((byte) AddressCodec.family(ip));
        return b.array();
    }

    public static ServiceKey decode(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        long netns = b.getLong();
        int family = raw[27];
        b.position(8);
        InetAddress ip = AddressCodec.getAddress(b, family);
        int port = AddressCodec.getPort(b);
        int protocol = b.get() & 0xff;
        return new ServiceKey(netns, new InetSocketAddress(ip, port), protocol);
    }
}
