package io.socketlauncher.demo.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SessionStateTest {
    private static final SessionState RESP = new SessionState(3, false, 0, 0, "*1\r\n$4\r\nPI".getBytes(StandardCharsets.US_ASCII));
    private static final SessionState STREAM = new SessionState(0, true, 123_456_789_012L, 42, new byte[0]);

    @Test
    void roundTrips() throws Exception {
        assertThat(SessionState.decode(RESP.encode())).isEqualTo(RESP);
        assertThat(SessionState.decode(STREAM.encode())).isEqualTo(STREAM);
        assertThat(SessionState.decode(new byte[0])).as("a connection accepted here").isEqualTo(SessionState.FRESH);
        SessionState biggest = new SessionState(15, false, 0, 0, new byte[SessionState.MAX_PENDING]);
        assertThat(biggest.encode()).hasSize(SessionState.MAX_ENCODED);
        assertThat(SessionState.decode(biggest.encode())).isEqualTo(biggest);
    }

    private static String error(byte[] blob) {
        try {
            SessionState.decode(blob);
        } catch (SessionState.MalformedSessionStateException e) {
            return e.getMessage();
        }
        throw new AssertionError("accepted " + Arrays.toString(blob));
    }

    private static byte[] with(byte[] blob, int offset, byte value) {
        byte[] b = blob.clone();
        b[offset] = value;
        return b;
    }

    @Test
    void everyFieldIsChecked() {
        byte[] good = RESP.encode();
        assertThat(error(Arrays.copyOf(good, 10))).isEqualTo("session state of 10 bytes is shorter than its 27-byte header");
        assertThat(error(with(good, 0, (byte) 'X'))).isEqualTo("bad magic 0x584c5253 at offset 0");
        assertThat(error(with(good, 4, (byte) 2))).isEqualTo("unknown version 2 at offset 4");
        assertThat(error(with(good, 5, (byte) 2))).isEqualTo("unknown mode 2 at offset 5");
        assertThat(error(with(good, 6, (byte) 16))).isEqualTo("database 16 at offset 6 is out of range 0-15");
        assertThat(error(with(STREAM.encode(), 7, (byte) 0x80))).startsWith("negative stream offset").endsWith("at offset 7");
        assertThat(error(with(STREAM.encode(), 15, (byte) 0x80))).startsWith("negative stream offset").endsWith("at offset 15");
        assertThat(error(with(good, 8, (byte) 1))).isEqualTo("stream offsets in a RESP session at offset 7");
        assertThat(error(Arrays.copyOf(good, good.length + 1))).isEqualTo("pending length 10 at offset 23 but 11 bytes follow");
        assertThat(error(Arrays.copyOf(good, good.length - 1))).isEqualTo("pending length 10 at offset 23 but 9 bytes follow");
        byte[] huge = ByteBuffer.wrap(good.clone()).putInt(23, -1).array();
        assertThat(error(huge)).isEqualTo("pending length 4294967295 at offset 23 but 10 bytes follow");
        byte[] streamWithPending = new SessionState(0, false, 0, 0, new byte[3]).encode();
        streamWithPending[5] = 1;
        assertThat(error(streamWithPending)).isEqualTo("pending request bytes in a stream session at offset 23");
        assertThat(error(new byte[SessionState.MAX_ENCODED + 1])).isEqualTo("session state of 1048577 bytes exceeds 1048576");
        assertThatThrownBy(() -> new SessionState(0, false, 0, 0, new byte[SessionState.MAX_PENDING + 1]))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void randomlyDamagedStatesAreRejectedOrDecodeToValidStates() {
        Random random = new Random(7);
        byte[] good = RESP.encode();
        int rejected = 0;
        for (int i = 0; i < 10_000; i++) {
            byte[] b = random.nextInt(4) == 0 ? Arrays.copyOf(good, 1 + random.nextInt(good.length + 8)) : good.clone();
            for (int k = random.nextInt(3); k >= 0 && b.length > 0; k--) b[random.nextInt(b.length)] = (byte) random.nextInt(256);
            try {
                SessionState s = SessionState.decode(b);
                assertThat(s.database()).isBetween(0, 15);
                assertThat(s.encode()).isEqualTo(b);
            } catch (SessionState.MalformedSessionStateException e) {
                rejected++;
            }
        }
        assertThat(rejected).isGreaterThan(1_000);
    }
}
