package io.socketlauncher.bpf.connect;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/** The {@code __u32 addr[4]} + network-order {@code __u16 port} + family encoding shared by the connect maps. */
final class AddressCodec {
    private AddressCodec() {
    }

    static int family(InetAddress address) {
        return address instanceof Inet4Address ? 4 : 6;
    }

    /** 16 bytes: IPv4 in the first four, the rest zero. */
    static void putAddress(ByteBuffer b, InetAddress address) {
        byte[] raw = address.getAddress();
        b.put(raw);
        for (int i = raw.length; i < 16; i++) b.put((byte) 0);
    }

    static InetAddress getAddress(ByteBuffer b, int family) {
        byte[] raw = new byte[16];
        b.get(raw);
        try {
            if (family == 4) return InetAddress.getByAddress(java.util.Arrays.copyOf(raw, 4));
            if (family == 6) return Inet6Address.getByAddress(null, raw, null);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalArgumentException("address family " + family + " in a connect map entry");
    }

    /** Ports are stored in network byte order whatever the buffer's order. */
    static void putPort(ByteBuffer b, int port) {
        b.put((byte) (port >>> 8)).put((byte) port);
    }

    static int getPort(ByteBuffer b) {
        return ((b.get() & 0xff) << 8) | (b.get() & 0xff);
    }
}
