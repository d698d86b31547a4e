package io.socketlauncher.bpf.hold;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * {@code struct hold_action}: what the server's ingress program does with one flow, and how many packets
 * (and bytes, link header included) it has done it to.
 */
public record HoldAction(Kind kind, int ifindex, Optional<InetAddress> newDestination, long packets, long bytes) {
    public static final int SIZE = 40;

    public enum Kind {
        /** Redirect to the egress of the TUN device {@code ifindex}, where a reader holds the packets. */
        DIVERT(1),
        /** Send back out of the interface the packet came in on, destination rewritten if given. */
        FORWARD(2),
        /** Pass to the stack, counting the segments in {@code hold_diverted} (the source's drain). */
        COUNT(3);

        final int code;

        Kind(int code) {
            this.code = code;
        }

        static Kind of(int code) {
            for (Kind k : values()) if (k.code == code) return k;
            throw new IllegalArgumentException("unknown hold action kind " + code);
        }
    }

    public static HoldAction divert(int tunIfindex) {
        return new HoldAction(Kind.DIVERT, tunIfindex, Optional.empty(), 0, 0);
    }

    public static HoldAction count() {
        return new HoldAction(Kind.COUNT, 0, Optional.empty(), 0, 0);
    }

    public static HoldAction forward(Optional<InetAddress> newDestination) {
        return new HoldAction(Kind.FORWARD, 0, newDestination, 0, 0);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder());
        b.putInt(kind.code).putInt(ifindex);
        if (newDestination.isPresent()) {
            FlowTuple.putAddress(b, newDestination.get());
        } else {
            b.position(b.position() + 16);
        }
        b.putLong(packets).putLong(bytes);
        return b.array();
    }

    /** {@code family} is the key's: the value does not say which kind of address it carries. */
    public static HoldAction decode(byte[] raw, int family) {
        if (raw.length != SIZE) throw new IllegalArgumentException("hold_action is " + SIZE + " bytes, not " + raw.length);
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder());
        Kind kind = Kind.of(b.getInt());
        int ifindex = b.getInt();
        boolean zero = true;
        for (int i = 8; i < 24; i++) zero &= raw[i] == 0;
        InetAddress destination = FlowTuple.getAddress(b, family);
        return new HoldAction(kind, ifindex, zero ? Optional.empty() : Optional.of(destination), b.getLong(), b.getLong());
    }
}
