package io.socketlauncher.bpf.hold;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * {@code struct hold_flow_key}: a TCP flow as this server receives it, from {@code remote} (the client,
 * or the proxy in full NAT) to {@code local} (the address the server's socket is bound to).
 */
public record FlowTuple(InetSocketAddress remote, InetSocketAddress local) {
    public static final int SIZE = 40;
    static final int AF_INET = 2, AF_INET6 = 10, IPPROTO_TCP = 6;

    public FlowTuple {
        if (remote.isUnresolved() || local.isUnresolved()) throw new IllegalArgumentException("unresolved address in flow " + remote + " -> " + local);
        if (remote.getAddress().getClass() != local.getAddress().getClass()) {
            throw new IllegalArgumentException("flow mixes address families: " + remote + " -> " + local);
        }
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder());
        putAddress(b, remote.getAddress());
        putAddress(b, local.getAddress());
        putPort(b, remote.getPort());
        putPort(b, local.getPort());
        b.put((byte) family(remote.getAddress())).put((byte) IPPROTO_TCP);
        return b.array();
    }

    public static FlowTuple decode(byte[] raw) {
        if (raw.length != SIZE) throw new IllegalArgumentException("hold_flow_key is " + SIZE + " bytes, not " + raw.length);
        if (raw[37] != IPPROTO_TCP || raw[38] != 0 || raw[39] != 0) {
            throw new IllegalArgumentException(String.format("hold_flow_key of protocol %d, padding 0x%02x%02x: TCP and zero expected",
                    raw[37] & 0xff, raw[38] & 0xff, raw[39] & 0xff));
        }
        int family = raw[36] & 0xff;
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        InetAddress src = getAddress(b, family);
        InetAddress dst = getAddress(b, family);
        int sport = getPort(b);
        int dport = getPort(b);
        return new FlowTuple(new InetSocketAddress(src, sport), new InetSocketAddress(dst, dport));
    }

    /**
     * The flow of the IP packet of {@code length} bytes at {@code offset}, read from its headers (as a
     * TUN device delivers it: no link header), or null for anything but a complete IPv4/IPv6 TCP header.
     */
    public static FlowTuple ofPacket(byte[] packet, int offset, int length) {
        if (length < 1) return null;
        int version = (packet[offset] & 0xf0) >>> 4;
        int l4, addressLength, srcOffset, dstOffset;
        if (version == 4) {
            if (length < 20 || (packet[offset + 9] & 0xff) != IPPROTO_TCP) return null;
            l4 = (packet[offset] & 0x0f) * 4;
            addressLength = 4;
            srcOffset = 12;
            dstOffset = 16;
        } else if (version == 6) {
            if (length < 40 || (packet[offset + 6] & 0xff) != IPPROTO_TCP) return null;
            l4 = 40;
            addressLength = 16;
            srcOffset = 8;
            dstOffset = 24;
        } else {
            return null;
        }
        if (l4 < 20 || length < l4 + 20) return null;
        try {
            InetAddress src = InetAddress.getByAddress(Arrays.copyOfRange(packet, offset + srcOffset, offset + srcOffset + addressLength));
            InetAddress dst = InetAddress.getByAddress(Arrays.copyOfRange(packet, offset + dstOffset, offset + dstOffset + addressLength));
            return new FlowTuple(new InetSocketAddress(src, port(packet, offset + l4)), new InetSocketAddress(dst, port(packet, offset + l4 + 2)));
        } catch (UnknownHostException e) {
            throw new AssertionError("raw address of fixed length rejected", e);
        }
    }

    /** The TCP sequence number of a packet {@link #ofPacket} accepted. */
    public static int sequence(byte[] packet, int offset) {
        int l4 = offset + ((packet[offset] & 0xf0) == 0x40 ? (packet[offset] & 0x0f) * 4 : 40);
        return (packet[l4 + 4] & 0xff) << 24 | (packet[l4 + 5] & 0xff) << 16 | (packet[l4 + 6] & 0xff) << 8 | (packet[l4 + 7] & 0xff);
    }

    /** TCP payload bytes of a packet {@link #ofPacket} accepted. */
    public static int payloadLength(byte[] packet, int offset, int length) {
        int l4 = (packet[offset] & 0xf0) == 0x40 ? (packet[offset] & 0x0f) * 4 : 40;
        int tcpHeader = ((packet[offset + l4 + 12] & 0xf0) >>> 4) * 4;
        return Math.max(0, length - l4 - tcpHeader);
    }

    private static int port(byte[] packet, int offset) {
        return ((packet[offset] & 0xff) << 8) | (packet[offset + 1] & 0xff);
    }

    static int family(InetAddress address) {
        return address instanceof Inet4Address ? AF_INET : AF_INET6;
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
            if (family == AF_INET) return InetAddress.getByAddress(Arrays.copyOf(raw, 4));
            if (family == AF_INET6) return Inet6Address.getByAddress(null, raw, null);
        } catch (UnknownHostException e) {
            throw new AssertionError("raw address of fixed length rejected", e);
        }
        throw new IllegalArgumentException("address family " + family + " in a hold map entry");
    }

    /** Ports are stored in network byte order whatever the buffer's order. */
    private static void putPort(ByteBuffer b, int port) {
        b.put((byte) (port >>> 8)).put((byte) port);
    }

    private static int getPort(ByteBuffer b) {
        return ((b.get() & 0xff) << 8) | (b.get() & 0xff);
    }

    @Override
    public String toString() {
        return remote + " -> " + local;
    }
}
