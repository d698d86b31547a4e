package io.socketlauncher.server.hold;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.sys.Tun;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The order a hold writes its packets back in (pure logic: the packets are built here), through the queue the hold
 * keeps them in. A segment the source forwarded arrives behind ones the proxy sent directly; the restored socket must
 * still get them as the client sent them.
 */
class SendingOrderTest {
    private static final int IPV4 = 4, IPV6 = 6;

    /** An IP packet of {@code payload} bytes with a TCP header carrying {@code sequence}; {@code ack} tells packets apart. */
    private static byte[] segment(int version, int offset, int sequence, int ack, int payload) {
        int ipHeader = version == IPV4 ? 20 : 40;
        byte[] p = new byte[offset + ipHeader + 20 + payload];
        if (version == IPV4) {
            p[offset] = 0x45;
            p[offset + 9] = 6;
        } else {
            p[offset] = 0x60;
            p[offset + 6] = 6;
        }
        int tcp = offset + ipHeader;
        put(p, tcp + 4, sequence);
        put(p, tcp + 8, ack);
        p[tcp + 12] = 0x50;
        return p;
    }

    private static void put(byte[] p, int at, int value) {
        p[at] = (byte) (value >>> 24);
        p[at + 1] = (byte) (value >>> 16);
        p[at + 2] = (byte) (value >>> 8);
        p[at + 3] = (byte) value;
    }

    private static int field(byte[] p, int at) {
        return (p[at] & 0xff) << 24 | (p[at + 1] & 0xff) << 16 | (p[at + 2] & 0xff) << 8 | (p[at + 3] & 0xff);
    }

    private static int[] sequences(byte[][] packets, int version, int offset) {
        int tcp = offset + (version == IPV4 ? 20 : 40);
        return Arrays.stream(packets).mapToInt(p -> field(p, tcp + 4)).toArray();
    }

    @Test
    void forwardedSegmentsThatArrivedLateGoBackBeforeTheDirectOnes() {
        int o = Tun.VNET_HEADER;
        SendingOrder queue = new SendingOrder(o);
        assertThat(queue.add(segment(IPV4, o, 3000, 1, 1000), 1000)).isFalse();
        assertThat(queue.add(segment(IPV4, o, 4000, 1, 1000), 1000)).isFalse();
        assertThat(queue.add(segment(IPV4, o, 1000, 1, 1000), 1000)).as("behind 3000-4999").isTrue();
        assertThat(queue.add(segment(IPV4, o, 2000, 1, 1000), 1000)).as("behind 3000-4999").isTrue();
        assertThat(sequences(queue.take(), IPV4, o)).containsExactly(1000, 2000, 3000, 4000);
        assertThat(queue.size()).isZero();
    }

    @Test
    void theOrderHoldsAcrossTheWrapOfTheSequenceSpace() {
        SendingOrder queue = new SendingOrder(0);
        assertThat(queue.add(segment(IPV6, 0, 0x200, 1, 0x200), 0x200)).isFalse();
        assertThat(queue.add(segment(IPV6, 0, 0xFFFFFE00, 1, 0x200), 0x200)).isTrue();
        assertThat(queue.add(segment(IPV6, 0, 0, 1, 0x200), 0x200)).isTrue();
        assertThat(sequences(queue.take(), IPV6, 0)).containsExactly(0xFFFFFE00, 0, 0x200);
    }

    @Test
    void pureAcksKeepTheirPlaceAmongSegmentsOfTheSameSequenceNumber() {
        // Three ACKs the client sent while it had nothing new to send (same sequence number, rising ack numbers), the
        // second overtaken by the third, then the data that followed them, and a forwarded segment from before them.
        // The sort keeps the ACKs as they came: an older ACK behind a newer one is ignored by the receiver, and
        // nothing orders them better than arrival.
        SendingOrder queue = new SendingOrder(0);
        assertThat(queue.add(segment(IPV4, 0, 5000, 10, 0), 0)).isFalse();
        assertThat(queue.add(segment(IPV4, 0, 5000, 30, 0), 0)).isFalse();
        assertThat(queue.add(segment(IPV4, 0, 5000, 20, 0), 0)).as("an ACK at the same sequence number is not late").isFalse();
        assertThat(queue.add(segment(IPV4, 0, 5000, 30, 500), 500)).isFalse();
        assertThat(queue.add(segment(IPV4, 0, 4000, 5, 1000), 1000)).isTrue();
        byte[][] held = queue.take();
        assertThat(sequences(held, IPV4, 0)).containsExactly(4000, 5000, 5000, 5000, 5000);
        assertThat(Arrays.stream(held).mapToInt(p -> field(p, 28)).toArray()).as("ack numbers in arrival order")
                .containsExactly(5, 10, 30, 20, 30);
        assertThat(held[4].length).as("the data segment last").isEqualTo(40 + 500);
    }

    @Test
    void aFlowThatArrivedInOrderGoesBackAsItCameAndTheQueueStartsAfreshAfterATake() {
        SendingOrder queue = new SendingOrder(0);
        byte[] a = segment(IPV4, 0, 7000, 1, 100), ack = segment(IPV4, 0, 7100, 2, 0), b = segment(IPV4, 0, 7100, 2, 100);
        assertThat(queue.add(a, 100)).isFalse();
        assertThat(queue.add(ack, 0)).isFalse();
        assertThat(queue.add(b, 100)).isFalse();
        byte[][] back = queue.take();
        assertThat(back.length).isEqualTo(3);
        assertThat(back[0]).as("the same packets, as they came").isSameAs(a);
        assertThat(back[1]).isSameAs(ack);
        assertThat(back[2]).isSameAs(b);
        // Measured from the new first packet: 100 is no segment behind 7000-7199 now.
        assertThat(queue.add(segment(IPV4, 0, 100, 1, 10), 10)).isFalse();
        assertThat(queue.add(segment(IPV4, 0, 50, 1, 10), 10)).isTrue();
        assertThat(sequences(queue.take(), IPV4, 0)).containsExactly(50, 100);
    }
}
