package io.socketlauncher.server.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.proxy.control.ControlChannel;
import io.socketlauncher.proxy.control.ControlException;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.MessageType;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;

/** The migration agent's door: how many peers' channels it serves at once. */
class MigrationAgentTest {
    private static final byte[] KEY = "a migration agent test key, of 32+ bytes".getBytes();
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @Test
    void channelsPastTheLimitAreRefusedInTheirHandshakeWithTheReason() throws Exception {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        InetSocketAddress here = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7400);
        // No migration comes in this test: the data plane is never asked for anything.
        MigrationContext context = new MigrationContext("s1", here, here, null, here, KEY, MigrationTimeouts.DEFAULTS, scheduler,
                Thread.ofPlatform().daemon().factory());
        ServerSocket listener = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        try (context; MigrationAgent agent = MigrationAgent.start(context, listener, Thread.ofPlatform().daemon().factory(),
                (fd, client, local, state, from) -> { }, prepare -> true)) {
            agent.maxConnections(2);
            try (Socket first = connect(listener); Socket second = connect(listener)) {
                ControlChannel a = ControlChannel.client(first, KEY, TIMEOUT);
                ControlChannel.client(second, KEY, TIMEOUT);
                try (Socket third = connect(listener)) {
                    assertThatThrownBy(() -> ControlChannel.client(third, KEY, TIMEOUT))
                            .isInstanceOfSatisfying(ControlException.class,
                                    e -> assertThat(ErrorCode.of(e.code())).isEqualTo(ErrorCode.TOO_MANY_CONNECTIONS))
                            .hasMessageContaining("server s1's migration agent already serves 2 connections");
                }
                a.send(MessageType.PING, 1, new byte[0]);
                assertThat(a.receive().messageType()).as("a channel within the limit is served").isEqualTo(MessageType.PONG);
            }
            // Both gone, a new channel is served again (the agent notices a closed channel on its next read).
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (true) {
                try (Socket again = connect(listener)) {
                    ControlChannel c = ControlChannel.client(again, KEY, TIMEOUT);
                    c.send(MessageType.PING, 1, new byte[0]);
                    assertThat(c.receive().messageType()).isEqualTo(MessageType.PONG);
                    break;
                } catch (IOException refused) { // refused in the handshake, or reset just after
                    assertThat(System.nanoTime()).as("served again within " + TIMEOUT).isLessThan(deadline);
                    Thread.sleep(20);
                }
            }
        } finally {
            scheduler.shutdownNow();
        }
    }

    private static Socket connect(ServerSocket listener) throws IOException {
        Socket socket = new Socket();
        socket.connect(listener.getLocalSocketAddress(), (int) TIMEOUT.toMillis());
        return socket;
    }
}
