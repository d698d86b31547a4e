package io.socketlauncher.bpf.proxy;

import java.nio.ByteBuffer;

/** struct proxy_reverse: the client flow a backend's packets belong to, and that backend. */
public record ReverseEntry(FlowTuple client, int backend) {
    public static final int SIZE = FlowTuple.SIZE + 8;

    public byte[] encode() {
        byte[] out = new byte[SIZE];
        System.arraycopy(client.encode(), 0, out, 0, FlowTuple.SIZE);
        Wire.buffer(out).putInt(FlowTuple.SIZE, backend);
        return out;
    }

    public static ReverseEntry decode(byte[] raw) {
        ByteBuffer b = Wire.buffer(raw);
        FlowTuple client = FlowTuple.decode(b);
        return new ReverseEntry(client, b.getInt());
    }
}
