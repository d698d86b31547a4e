package io.socketlauncher.server.hold;

import io.socketlauncher.bpf.hold.FlowTuple;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Comparator;

/**
 * One held flow's packets (IP header at {@code ip}), kept as they arrive and given back in the order the client sent
 * them. Arrival order is not quite that: segments the source forwarded (sent before the proxy's switch) can arrive
 * behind ones the proxy sent here directly, and the client would take that reordering for loss. A packet that starts
 * before the end of one held already is noted as it arrives, and only then is the flow sorted at release: stably, by
 * sequence number relative to the first packet's (modulo 2^32), so that pure ACKs keep their place among segments of
 * the same sequence number.
 */
final class SendingOrder {
    private final int ip;
    private final ArrayDeque<byte[]> packets = new ArrayDeque<>();
    private int firstSequence;
    /** The end of the highest segment held so far, relative to the first packet's sequence number. */
    private int highestEnd;
    private boolean reordered;

    SendingOrder(int ip) {
        this.ip = ip;
    }

    /** Holds a packet of {@code payload} TCP payload bytes; true if it arrived behind a later segment of the flow. */
    boolean add(byte[] packet, int payload) {
        int relative = 0;
        if (packets.isEmpty()) {
            firstSequence = FlowTuple.sequence(packet, ip);
            highestEnd = 0;
        } else {
            relative = FlowTuple.sequence(packet, ip) - firstSequence;
        }
        boolean late = relative < highestEnd;
        reordered |= late;
        highestEnd = Math.max(highestEnd, relative + payload);
        packets.add(packet);
        return late;
    }

    int size() {
        return packets.size();
    }

    /** Takes every packet out, in the order the client sent them. */
    byte[][] take() {
        byte[][] out = packets.toArray(new byte[0][]);
        if (reordered) {
            int first = firstSequence;
            Arrays.sort(out, Comparator.comparingInt(p -> FlowTuple.sequence(p, ip) - first));
        }
        clear();
        return out;
    }

    void clear() {
        packets.clear();
        reordered = false;
    }
}
