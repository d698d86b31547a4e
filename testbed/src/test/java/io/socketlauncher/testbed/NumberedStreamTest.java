package io.socketlauncher.testbed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.sys.Libc;
import java.net.InetAddress;
import java.net.InetSocketAddress;
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
        int listener = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        int client = -1, server = -1;
        try {
            Libc.bind(listener, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Libc.listen(listener, 1);
            client = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.connect(client, Libc.getsockname(listener));
            server = Libc.accept(listener, Libc.SOCK_CLOEXEC);

            NumberedStream.send(client, 0, 300_000, NumberedStream.CLIENT_TO_SERVER);
            NumberedStream.expect(server, 0, 300_000, NumberedStream.CLIENT_TO_SERVER);

            NumberedStream.send(client, 300_001, 10, NumberedStream.CLIENT_TO_SERVER);
            int s = server;
            assertThatThrownBy(() -> NumberedStream.expect(s, 300_000, 10, NumberedStream.CLIENT_TO_SERVER))
                    .hasMessage("byte 300000 differs from the stream");
            Libc.shutdown(client, Libc.SHUT_WR);
            assertThatThrownBy(() -> NumberedStream.expect(s, 0, 1, NumberedStream.CLIENT_TO_SERVER))
                    .hasMessage("end of stream after 0 bytes, expected 1");
        } finally {
            Libc.closeQuietly(client);
            Libc.closeQuietly(server);
            Libc.closeQuietly(listener);
        }
    }
}
