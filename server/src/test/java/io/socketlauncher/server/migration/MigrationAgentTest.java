package io.socketlauncher.server.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.proxy.control.ControlChannel;
import io.socketlauncher.proxy.control.ControlException;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.ServerMessages;
import io.socketlauncher.server.Peer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A server's migration agent as its peers reach it, with no migration under way: its door and its refusals. */
class MigrationAgentTest {
    private static final byte[] KEY = "a migration agent test key, of 32+ bytes".getBytes();
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private ScheduledExecutorService scheduler;
    private MigrationContext context;
    private ServerSocket listener;
    private MigrationAgent agent;

    @BeforeEach
    void start() throws IOException {
        scheduler = Executors.newSingleThreadScheduledExecutor();
        InetSocketAddress here = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7400);
        // No migration comes in these tests: the data plane is never asked for anything.
        context = new MigrationContext("s1", here, here, null, here, KEY, MigrationTimeouts.DEFAULTS, scheduler, scheduler);
        listener = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        agent = MigrationAgent.start(context, listener, Thread.ofPlatform().daemon().factory(), (fd, client, local, state, from) -> { },
                prepare -> true);
    }

    @AfterEach
    void stop() throws IOException {
        try {
            if (agent != null) agent.close();
        } finally {
            context.close();
            scheduler.shutdownNow();
        }
    }

    @Test
    void channelsPastTheLimitAreRefusedInTheirHandshakeWithTheReason() throws Exception {
        agent.maxConnections(2);
        try (Socket first = connect(); Socket second = connect()) {
            ControlChannel a = ControlChannel.client(first, KEY, TIMEOUT);
            ControlChannel.client(second, KEY, TIMEOUT);
            try (Socket third = connect()) {
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
            try (Socket again = connect()) {
                ControlChannel c = ControlChannel.client(again, KEY, TIMEOUT);
                c.send(MessageType.PING, 1, new byte[0]);
                assertThat(c.receive().messageType()).isEqualTo(MessageType.PONG);
                break;
            } catch (IOException refused) { // refused in the handshake, or reset just after
                assertThat(System.nanoTime()).as("served again within " + TIMEOUT).isLessThan(deadline);
                Thread.sleep(20);
            }
        }
    }

    /** A hand-back the target can't carry out is refused: the source then knows nothing reaches it from there. */
    @Test
    void aHandBackOfAMigrationNotHeldHereIsRefusedAndOtherAbortsAreAnswered() throws Exception {
        PeerLink link = new PeerLink(new Peer("s1", (InetSocketAddress) listener.getLocalSocketAddress()), KEY, TIMEOUT);
        PeerLink.Session session = link.open();
        try {
            for (ServerMessages.Disposition d : ServerMessages.Disposition.values()) {
                byte[] abort = ServerMessages.abort(new ServerMessages.Abort(0x51, d, "test"));
                if (d == ServerMessages.Disposition.HAND_BACK) {
                    assertThatThrownBy(() -> session.call(MessageType.XFER_ABORT, abort, MessageType.XFER_ABORTED, TIMEOUT))
                            .isInstanceOf(PeerRefusedException.class).hasMessageContaining("migration 51 holds nothing here to hand back");
                } else {
                    byte[] reply = session.call(MessageType.XFER_ABORT, abort, MessageType.XFER_ABORTED, TIMEOUT);
                    assertThat(ServerMessages.decodeAborted(reply).committed()).as(d.name()).isFalse();
                }
            }
        } finally {
            link.release(session);
            link.close();
        }
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(listener.getLocalSocketAddress(), (int) TIMEOUT.toMillis());
        return socket;
    }
}
