package io.socketlauncher.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.sys.Libc;
import org.junit.jupiter.api.Test;

class NumberedStreamTest {
    @Test
    void anyChangedByteIsFoundAtItsOffset() {
        byte[] b = NumberedStream.pattern(1000, 64, NumberedStream.CLIENT_TO_SERVER);
        assertThat(NumberedStream.firstMismatch(b, b.length, 1000, NumberedStream.CLIENT_TO_SERVER)).isEqualTo(-1);
        assertThat(NumberedStream.firstMismatch(b, b.length, 1001, NumberedStream.CLIENT_TO_SERVER)).isNotEqualTo(-1);
        assertThat(NumberedStream.firstMismatch(b, b.length, 1000, NumberedStream.SERVER_TO_CLIENT)).isNotEqualTo(-1);
        b[17]++;
        assertThat(NumberedStream.firstMismatch(b, b.length, 1000, NumberedStream.CLIENT_TO_SERVER)).isEqualTo(1017);
    }

    @Test
    void aSocketCarriesTheStreamAndAShiftIsCaught() throws Exception {
        try (LoopbackPair pair = LoopbackPair.open()) {
            int client = pair.client(), server = pair.server();
            NumberedStream.send(client, 0, 300_000, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.expect(server, 0, 300_000, NumberedStream.CLIENT_TO_SERVER);

            NumberedStream.send(client, 300_001, 10, NumberedStream.CLIENT_TO_SERVER);
            assertThatThrownBy(() -> NumberedStream.expect(server, 300_000, 10, NumberedStream.CLIENT_TO_SERVER))
                    .hasMessage("byte 300000 differs from the stream");
            Libc.shutdown(client, Libc.SHUT_WR);
            assertThatThrownBy(() -> NumberedStream.expect(server, 0, 1, NumberedStream.CLIENT_TO_SERVER))
                    .hasMessage("end of stream after 0 bytes, expected 1");
        }
    }
}
