package io.socketlauncher.bpf.proxy;

import java.nio.ByteBuffer;

/**
 * struct proxy_reverse: the client flow a backend's packets belong to, and that backend; or, marked
 * {@code reservation}, an entry that only reserves a shared full-NAT source port for the flow across its service.
 */
public record ReverseEntry(FlowTuple client, int backend, boolean reservation) {
    public static final int SIZE = FlowTuple.SIZE + 8;
    private static final int RESERVATION = 1;

    public ReverseEntry(FlowTuple client, int backend) {
        this(client, backend, false);
    }

    public byte[] encode() {
        byte[] out = new byte[SIZE];
        System.arraycopy(client.encode(), 0, out, 0, FlowTuple.SIZE);
        Wire.buffer(out).putInt(FlowTuple.SIZE, backend).putInt(FlowTuple.SIZE + 4, reservation ? RESERVATION : 0);
        return out;
    }

    public static ReverseEntry decode(byte[] raw) {
        ByteBuffer b = Wire.buffer(raw);
        FlowTuple client = FlowTuple.decode(b);
        int backend = b.getInt();
        return new ReverseEntry(client, backend, (b.getInt() & RESERVATION) != 0);
    }
}
