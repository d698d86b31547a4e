package io.socketlauncher.server.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.proxy.control.ControlChannel;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.ProtocolException;
import io.socketlauncher.server.Peer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A peer that closed a channel after its idle timeout said so first (an ERROR for request 0). A channel from the pool
 * that answers a request with it is stale, and the migration may go again on a new channel; a new channel that does
 * is a peer out of step, and the migration fails.
 */
class PeerLinkTest {
    private static final byte[] KEY = "a peer link test key, of 32+ bytes".getBytes();

    @Test
    void aPooledChannelThePeerClosedWhileIdleIsStaleAndAFreshOneIsNot() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
            Thread peer = Thread.ofPlatform().daemon().start(() -> closeTwoChannelsAsIdle(listener));
            Peer agent = new Peer("s2", (InetSocketAddress) listener.getLocalSocketAddress());
            PeerLink link = new PeerLink(agent, KEY, Duration.ofSeconds(5));
            try {
                assertThat(link.fill(1)).isEqualTo(1);
                PeerLink.Session pooled = link.acquire();
                assertThat(pooled.pooled).isTrue();
                PeerLink.Session fresh = link.open();
                assertThat(fresh.pooled).isFalse();
                peer.join(10_000);
                assertThat(peer.isAlive()).as("the peer has said its last word on both channels").isFalse();

                int request = pooled.request(MessageType.XFER_PREPARE, new byte[] {1});
                assertThatThrownBy(() -> pooled.reply(request, MessageType.XFER_PREPARE, MessageType.HOLDING, Duration.ofSeconds(5)))
                        .isInstanceOf(PeerLink.StaleChannelException.class)
                        .hasMessageContaining("peer s2 had closed the pooled channel").hasMessageContaining("no frame within");
                assertThat(pooled.broken).as("a stale channel is not pooled again").isTrue();

                int other = fresh.request(MessageType.XFER_PREPARE, new byte[] {1});
                assertThatThrownBy(() -> fresh.reply(other, MessageType.XFER_PREPARE, MessageType.HOLDING, Duration.ofSeconds(5)))
                        .isInstanceOf(ProtocolException.class).hasMessageContaining("reply to request 0 while waiting for " + other);
                assertThat(link.openChannels()).as("both closed").isZero();
            } finally {
                link.close();
            }
        }
    }

    /** Accepts two channels and ends each as an agent ends one idle past its timeout: an ERROR for request 0, then close. */
    private static void closeTwoChannelsAsIdle(ServerSocket listener) {
        try {
            for (int i = 0; i < 2; i++) {
                try (Socket socket = listener.accept()) {
                    ControlChannel channel = ControlChannel.server(socket, Duration.ofSeconds(5), Duration.ofSeconds(5));
                    channel.acceptHandshake(KEY);
                    channel.sendError(ErrorCode.TIMEOUT, 0, "no frame within 600000 ms");
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
