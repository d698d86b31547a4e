package io.socketlauncher.bpf.proxy;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/** struct proxy_flow_key: one direction of a TCP flow, source to destination. */
public record FlowTuple(InetSocketAddress source, InetSocketAddress destination) {
    public static final int SIZE = 40;

    public FlowTuple {
        if (Wire.family(source.getAddress()) != Wire.family(destination.getAddress())) {
            throw new IllegalArgumentException("mixed address families in flow " + source + " -> " + destination);
        }
    }

    public byte[] encode() {
        byte[] out = new byte[SIZE];
        ByteBuffer b = Wire.buffer(out);
        Wire.putAddress(b, source.getAddress());
        Wire.putAddress(b, destination.getAddress());
        Wire.putPort(b, source.getPort());
        Wire.putPort(b, destination.getPort());
        b.put((byte) Wire.family(source.getAddress())).put((byte) Wire.IPPROTO_TCP);
        return out;
    }

    public static FlowTuple decode(byte[] raw) {
        return decode(Wire.buffer(raw));
    }

    static FlowTuple decode(ByteBuffer b) {
        int start = b.position();
        int family = b.get(start + 36) & 0xff;
        var src = Wire.getAddress(b, family);
        var dst = Wire.getAddress(b, family);
        int sport = Wire.getPort(b);
        int dport = Wire.getPort(b);
        b.position(start + SIZE);
        return new FlowTuple(new InetSocketAddress(src, sport), new InetSocketAddress(dst, dport));
    }
}
