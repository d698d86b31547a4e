package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The server protocol's payloads: round trips, and refusals of truncated, padded or out-of-range input. */
class ServerMessagesTest {
    private static final InetSocketAddress CLIENT = new InetSocketAddress("10.77.1.2", 40000);
    private static final InetSocketAddress VIP = new InetSocketAddress("10.77.200.1", 7000);
    private static final InetSocketAddress LOCAL = new InetSocketAddress("fd77::2", 7000);

    @Test
    void everyMessageRoundTrips() throws Exception {
        ServerMessages.Prepare p = new ServerMessages.Prepare(-5, "s1", CLIENT, VIP, LOCAL);
        assertThat(ServerMessages.decodePrepare(ServerMessages.prepare(p))).isEqualTo(p);
        ServerMessages.Holding h = new ServerMessages.Holding(7, LOCAL);
        assertThat(ServerMessages.decodeHolding(ServerMessages.holding(h))).isEqualTo(h);
        assertThat(ServerMessages.decodeMigration("XFERED", ServerMessages.migration(Long.MIN_VALUE))).isEqualTo(Long.MIN_VALUE);
        for (ServerMessages.Disposition disposition : ServerMessages.Disposition.values()) {
            ServerMessages.Abort a = new ServerMessages.Abort(9, disposition, "no HOLDING");
            assertThat(ServerMessages.decodeAbort(ServerMessages.abort(a))).isEqualTo(a);
        }
        ServerMessages.Aborted d = new ServerMessages.Aborted(9, true);
        assertThat(ServerMessages.decodeAborted(ServerMessages.aborted(d))).isEqualTo(d);

        byte[] data = new byte[ServerMessages.MAX_CHUNK + 10];
        Arrays.fill(data, (byte) 7);
        byte[] part = ServerMessages.part(3, data, 10, ServerMessages.MAX_CHUNK);
        assertThat(part.length).isLessThanOrEqualTo(Wire.MAX_PAYLOAD);
        ServerMessages.Chunk c = ServerMessages.decodePart(part);
        assertThat(c.migration()).isEqualTo(3);
        assertThat(c.data()).hasSize(ServerMessages.MAX_CHUNK).containsOnly((byte) 7);
        ServerMessages.Chunk last = ServerMessages.decodeLast(ServerMessages.last(3, 12345, data, 0, 5));
        assertThat(last.total()).isEqualTo(12345);
        assertThat(last.data()).hasSize(5);
    }

    @Test
    void malformedPayloadsAreRefusedWithTheFieldNamed() {
        byte[] prepare = ServerMessages.prepare(new ServerMessages.Prepare(1, "s1", CLIENT, VIP, LOCAL));
        for (int n = 0; n < prepare.length; n++) {
            byte[] truncated = Arrays.copyOf(prepare, n);
            assertThatThrownBy(() -> ServerMessages.decodePrepare(truncated)).isInstanceOf(ProtocolException.class)
                    .hasMessageStartingWith("XFER_PREPARE payload:");
        }
        assertThatThrownBy(() -> ServerMessages.decodePrepare(Arrays.copyOf(prepare, prepare.length + 1)))
                .hasMessageContaining("trailing");
        byte[] aborted = ServerMessages.aborted(new ServerMessages.Aborted(1, false));
        aborted[8] = 2;
        assertThatThrownBy(() -> ServerMessages.decodeAborted(aborted)).hasMessageContaining("committed flag 2");
        byte[] abort = ServerMessages.abort(new ServerMessages.Abort(1, ServerMessages.Disposition.DISCARD, "why"));
        abort[8] = 3;
        assertThatThrownBy(() -> ServerMessages.decodeAbort(abort)).hasMessageContaining("disposition 3; expected 0 (keep), 1 (discard) or 2 (hand back)");
        byte[] last = ServerMessages.last(1, 0, new byte[0], 0, 0);
        last[8] = (byte) 0x80; // a negative total
        assertThatThrownBy(() -> ServerMessages.decodeLast(last)).hasMessageContaining("total");
        assertThatThrownBy(() -> ServerMessages.part(1, new byte[ServerMessages.MAX_CHUNK + 1], 0, ServerMessages.MAX_CHUNK + 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ServerMessages.decodePart(new byte[7])).hasMessageContaining("migration");
    }
}
