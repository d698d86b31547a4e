package io.socketlauncher.repair;

import io.socketlauncher.testbed.NumberedStream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TcpStateCodecTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static TcpState sample(String local, String remote, int sendLength, int unsent, int receiveLength) throws Exception {
        return new TcpState(new InetSocketAddress(InetAddress.getByName(local), 8080),
                new InetSocketAddress(InetAddress.getByName(remote), 45123), TcpConnectionState.LAST_ACK,
                0xfedcba98, 0x12345678, NumberedStream.pattern(0, sendLength, 1), unsent, NumberedStream.pattern(0, receiveLength, 2),
                new TcpOptions(1460, 1448, true, true, true, 7, 9, 0x80000001, 1_763_900_000_123L),
                new RepairWindow(1, 0xffffffff, 3, 4, 0x80000000),
                new SocketSettings(true, true, 77, 13, 5, "cubic", 2_626_560, 131_072, 12_345, 0xffffffff, 42));
    }

    @Test
    void roundTripsEveryFieldForBothFamilies() throws Exception {
        for (TcpState state : new TcpState[] {
                sample("10.77.200.1", "10.77.1.2", 3000, 1000, 5000),
                sample("fd77:0:200::1", "fd77:0:1::2", 0, 0, 0)}) {
            byte[] wire = TcpStateCodec.encode(state);
            assertThat(wire).hasSize(TcpStateCodec.encodedLength(state));
            assertThat(TcpStateCodec.decode(wire)).isEqualTo(state);
            ByteBuffer reused = ByteBuffer.allocate(wire.length + 10).order(java.nio.ByteOrder.LITTLE_ENDIAN).position(5);
            TcpStateCodec.encode(state, reused);
            assertThat(reused.position()).isEqualTo(5 + wire.length);
            assertThat(reused.order()).isEqualTo(java.nio.ByteOrder.LITTLE_ENDIAN);
            assertThat(Arrays.copyOfRange(reused.array(), 5, 5 + wire.length)).isEqualTo(wire);
            assertThat(TcpStateCodec.decode(reused.array(), 5, wire.length)).isEqualTo(state);
        }
    }

    @Test
    void headerIsBigEndianMagicAndVersion() throws Exception {
        byte[] wire = TcpStateCodec.encode(sample("10.0.0.1", "10.0.0.2", 1, 0, 1));
        assertThat(Arrays.copyOf(wire, 6)).containsExactly('S', 'L', 'T', 'S', 0, 1);
    }

    @Test
    void everyTruncationIsRejectedPrecisely() throws Exception {
        byte[] wire = TcpStateCodec.encode(sample("10.0.0.1", "10.0.0.2", 40, 10, 30));
        for (int length = 0; length < wire.length; length++) {
            int n = length;
            MalformedStateException e = catchThrowableOfType(MalformedStateException.class, () -> TcpStateCodec.decode(wire, 0, n));
            assertThat(e).as("decoding the first %d of %d bytes", n, wire.length).isNotNull();
            assertThat(e.getMessage()).containsAnyOf("truncated", "body length field says");
            assertThat(e.offset()).isBetween(0, n);
        }
    }

    @Test
    void truncatedBodyWithMatchingLengthFieldNamesTheField() throws Exception {
        byte[] wire = TcpStateCodec.encode(sample("10.0.0.1", "10.0.0.2", 40, 10, 30));
        byte[] cut = Arrays.copyOf(wire, wire.length - 5);
        ByteBuffer.wrap(cut).putInt(8, cut.length - TcpStateCodec.HEADER_LENGTH);
        assertThatThrownBy(() -> TcpStateCodec.decode(cut))
                .isInstanceOf(MalformedStateException.class).hasMessageContaining("truncated: receive queue needs 30 bytes, only 25 left");
    }

    @Test
    void trailingBytesAreRejected() throws Exception {
        byte[] wire = TcpStateCodec.encode(sample("10.0.0.1", "10.0.0.2", 4, 0, 4));
        byte[] longer = Arrays.copyOf(wire, wire.length + 3);
        assertThatThrownBy(() -> TcpStateCodec.decode(longer)).hasMessageContaining("body length field says");
        ByteBuffer.wrap(longer).putInt(8, longer.length - TcpStateCodec.HEADER_LENGTH);
        assertThatThrownBy(() -> TcpStateCodec.decode(longer)).hasMessageContaining("3 unexpected bytes after the receive queue");
    }

    @Test
    void badMagicVersionFlagsAndEnumsAreNamed() throws Exception {
        byte[] wire = TcpStateCodec.encode(sample("10.0.0.1", "10.0.0.2", 4, 0, 4));
        assertThatThrownBy(() -> TcpStateCodec.decode(patched(wire, 0, 'X'))).hasMessageContaining("bad magic");
        assertThatThrownBy(() -> TcpStateCodec.decode(patched(wire, 5, 2))).hasMessageContaining("unsupported version 2");
        assertThatThrownBy(() -> TcpStateCodec.decode(patched(wire, 7, 1))).hasMessageContaining("unknown header flags");
        assertThatThrownBy(() -> TcpStateCodec.decode(patched(wire, 12, 5))).hasMessageContaining("local address family 5");
        int state = 12 + 7 + 7;
        assertThatThrownBy(() -> TcpStateCodec.decode(patched(wire, state, 10))).hasMessageContaining("TCP state 10 can't be restored")
                .isInstanceOfSatisfying(MalformedStateException.class, e -> assertThat(e.offset()).isEqualTo(state));
        assertThatThrownBy(() -> TcpStateCodec.decode(patched(wire, state + 9, 0x80))).hasMessageContaining("unknown option flags");
        assertThatThrownBy(() -> TcpStateCodec.decode(patched(wire, state + 10, 15))).hasMessageContaining("send window scale 15 above 14");
    }

    @Test
    void oversizedLengthFieldsAreRejectedWithoutAllocating() throws Exception {
        TcpState state = sample("10.0.0.1", "10.0.0.2", 4, 0, 4);
        byte[] wire = TcpStateCodec.encode(state);
        int sendLengthAt = wire.length - 4 - 4 - 4 - 4 - 4; // send len, unsent, 4 bytes, receive len, 4 bytes
        for (int declared : new int[] {0x7fffffff, 0xffffffff, TcpStateCodec.MAX_QUEUE_LENGTH + 1}) {
            byte[] hostile = wire.clone();
            ByteBuffer.wrap(hostile).putInt(sendLengthAt, declared);
            long before = THREADS.getCurrentThreadAllocatedBytes();
            assertThatThrownBy(() -> TcpStateCodec.decode(hostile)).isInstanceOf(MalformedStateException.class)
                    .hasMessageContaining("send queue length");
            assertThat(THREADS.getCurrentThreadAllocatedBytes() - before).as("bytes allocated").isLessThan(1 << 20);
        }
        // A length under the limit but beyond the input: refused before the array exists.
        byte[] hostile = wire.clone();
        ByteBuffer.wrap(hostile).putInt(sendLengthAt, 200 << 20);
        long before = THREADS.getCurrentThreadAllocatedBytes();
        assertThatThrownBy(() -> TcpStateCodec.decode(hostile)).hasMessageContaining("truncated: send queue needs 209715200 bytes");
        assertThat(THREADS.getCurrentThreadAllocatedBytes() - before).as("bytes allocated").isLessThan(1 << 20);

        byte[] unsent = wire.clone();
        ByteBuffer.wrap(unsent).putInt(sendLengthAt + 4, 5);
        assertThatThrownBy(() -> TcpStateCodec.decode(unsent)).hasMessageContaining("unsent length 5 exceeds send queue length 4");
    }

    @Test
    void garbageIsRejectedNeverCrashes() throws Exception {
        SplittableRandom random = new SplittableRandom(42);
        byte[] wire = TcpStateCodec.encode(sample("10.0.0.1", "10.0.0.2", 64, 16, 64));
        for (int i = 0; i < 20_000; i++) {
            byte[] input;
            if (i % 2 == 0) {
                input = new byte[random.nextInt(300)];
                for (int j = 0; j < input.length; j++) input[j] = (byte) random.nextInt();
                if (i % 4 == 0 && input.length >= 12) System.arraycopy(wire, 0, input, 0, 12); // past the header checks
            } else {
                input = wire.clone();
                for (int flips = 1 + random.nextInt(4); flips > 0; flips--) input[random.nextInt(input.length)] ^= (byte) (1 + random.nextInt(255));
            }
            try {
                TcpStateCodec.decode(input);
            } catch (MalformedStateException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        }
    }

    private static byte[] patched(byte[] wire, int offset, int value) {
        byte[] copy = wire.clone();
        copy[offset] = (byte) value;
        return copy;
    }
}
