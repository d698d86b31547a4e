package io.socketlauncher.server.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.UnixSockets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The agent's framing over a real Unix socket: what a frame's header claims is not taken on trust. */
class AgentProtocolTest {
    private Path directory;
    private int sender = -1, receiver = -1;

    @BeforeEach
    void connect() throws Exception {
        directory = Files.createTempDirectory("sl-agent-protocol-");
        String path = directory.resolve("s").toString();
        int listener = UnixSockets.socket();
        try {
            UnixSockets.bind(listener, path);
            Libc.listen(listener, 1);
            sender = UnixSockets.socket();
            UnixSockets.connect(sender, path);
            receiver = Libc.accept(listener, 0);
        } finally {
            Libc.closeQuietly(listener);
        }
    }

    @AfterEach
    void close() throws Exception {
        Libc.closeQuietly(sender);
        Libc.closeQuietly(receiver);
        Files.deleteIfExists(directory.resolve("s"));
        Files.deleteIfExists(directory);
    }

    @Test
    void aBodyLargerThanOneReadArrivesWhole() throws Exception {
        byte[] body = new byte[700_000]; // three growth steps of the receive buffer
        new Random(7).nextBytes(body);
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                AgentProtocol.send(sender, AgentProtocol.Type.RESTORE_RELEASE, body, -1);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        AgentProtocol.Frame frame = AgentProtocol.receive(receiver);
        writer.join();
        assertThat(frame.type()).isEqualTo(AgentProtocol.Type.RESTORE_RELEASE);
        assertThat(frame.body()).isEqualTo(body);
    }

    @Test
    void aHeaderThatClaimsMoreThanArrivesIsAnErrorNamingBoth() throws Exception {
        int claimed = AgentProtocol.MAX_BODY;
        byte[] header = ByteBuffer.allocate(AgentProtocol.HEADER_LENGTH).putInt(AgentProtocol.MAGIC).put((byte) AgentProtocol.VERSION)
                .put((byte) AgentProtocol.Type.RESTORE_RELEASE.code).putShort((short) 0).putInt(claimed).array();
        Libc.sendFully(sender, header, 0, header.length);
        Libc.sendFully(sender, new byte[100], 0, 100);
        Libc.close(sender);
        sender = -1;
        assertThatThrownBy(() -> AgentProtocol.receive(receiver)).isInstanceOf(AgentProtocol.AgentProtocolException.class)
                .hasMessage("end of stream inside a RESTORE_RELEASE body, after 100 of " + claimed + " bytes");
    }

    @Test
    void anErrorMessageLongerThanItsLimitIsRefused() throws Exception {
        byte[] body = new byte[4 + AgentProtocol.MAX_ERROR_MESSAGE + 1];
        assertThatThrownBy(() -> AgentProtocol.error(body)).isInstanceOf(AgentProtocol.AgentProtocolException.class)
                .hasMessage("ERROR frame of " + body.length + " bytes: too long");
        assertThat(AgentProtocol.error(new byte[4 + AgentProtocol.MAX_ERROR_MESSAGE]).getMessage()).isNotNull();
    }
}
