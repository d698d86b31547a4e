package io.socketlauncher.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/** sockaddr_in / sockaddr_in6 to and from {@link InetSocketAddress}. */
final class SocketAddresses {
    static final int SOCKADDR_IN = 16, SOCKADDR_IN6 = 28;

    private SocketAddresses() {}

    static int encode(InetSocketAddress address, MemorySegment out) {
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("unresolved address: " + address);
        }
        InetAddress ip = address.getAddress();
        out.asSlice(0, SOCKADDR_IN6).fill((byte) 0);
        int port = address.getPort();
        out.set(JAVA_BYTE, 2, (byte) (port >>> 8));
        out.set(JAVA_BYTE, 3, (byte) port);
        byte[] raw = ip.getAddress();
        if (ip instanceof Inet4Address) {
            out.set(JAVA_SHORT, 0, (short) Libc.AF_INET);
            MemorySegment.copy(raw, 0, out, JAVA_BYTE, 4, 4);
            return SOCKADDR_IN;
        }
        out.set(JAVA_SHORT, 0, (short) Libc.AF_INET6);
        MemorySegment.copy(raw, 0, out, JAVA_BYTE, 8, 16);
        return SOCKADDR_IN6;
    }

    static InetSocketAddress decode(MemorySegment in, int length) {
        int family = in.get(JAVA_SHORT, 0);
        int port = ((in.get(JAVA_BYTE, 2) & 0xff) << 8) | (in.get(JAVA_BYTE, 3) & 0xff);
        try {
            if (family == Libc.AF_INET && length >= SOCKADDR_IN) {
                return new InetSocketAddress(InetAddress.getByAddress(in.asSlice(4, 4).toArray(JAVA_BYTE)), port);
            }
            if (family == Libc.AF_INET6 && length >= SOCKADDR_IN6) {
                return new InetSocketAddress(Inet6Address.getByAddress(in.asSlice(8, 16).toArray(JAVA_BYTE)), port);
            }
        } catch (UnknownHostException e) {
            throw new AssertionError("raw address of fixed length rejected", e);
        }
        throw new IllegalStateException("unexpected socket address family " + family + " (length " + length + ")");
    }
}
