package io.socketlauncher.bpf.proxy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Encoding of the fields proxy.h shares: addresses as four words, ports in network order. */
final class Wire {
    static final int AF_INET = 2, AF_INET6 = 10, IPPROTO_TCP = 6;

    private Wire() {}

    static ByteBuffer buffer(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
    }

    static int family(InetAddress address) {
        return address instanceof Inet6Address ? AF_INET6 : AF_INET;
    }

    static void putAddress(ByteBuffer b, InetAddress address) {
        byte[] raw = address == null ? new byte[0] : address.getAddress();
        byte[] field = new byte[16];
        System.arraycopy(raw, 0, field, 0, raw.length);
        b.put(field);
    }

    static InetAddress getAddress(ByteBuffer b, int family) {
        byte[] field = new byte[16];
        b.get(field);
        try {
            if (family == AF_INET6) return InetAddress.getByAddress(field);
            if (family != AF_INET) throw new IllegalArgumentException("unknown address family " + family + " in a proxy map");
            return Inet4Address.getByAddress(java.util.Arrays.copyOf(field, 4));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static void putPort(ByteBuffer b, int port) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        b.put((byte) (port >>> 8)).put((byte) port);
    }

    static int getPort(ByteBuffer b) {
        return ((b.get() & 0xff) << 8) | (b.get() & 0xff);
    }
}
