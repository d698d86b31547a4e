package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Frames as the receiving channel reads them: whole, several to a read, or in pieces, of every size around the
 * channel's read-ahead. The sender is a hand-driven peer, so the bytes go out in exactly the pieces chosen here.
 */
class ControlChannelTest {
    private static final byte[] KEY = "a control channel test key, 32+ bytes".getBytes();
    /** Around the read-ahead (8 KiB) and its edges, and the largest frame there is. */
    private static final int[] PAYLOAD_SIZES = {0, 1, 7, 100, 4_000, 8_100, 8_135, 8_136, 8_137, 8_192, 8_200, 12_000,
        16_384, Wire.MAX_PAYLOAD, 3, 0, 9_000, 1};

    @Test
    void framesSentInOneWriteAreEachReceivedWhole() throws Exception {
        receiveAll(bytes -> List.of(bytes));
    }

    @Test
    void framesArrivingInOddPiecesAreEachReceivedWhole() throws Exception {
        receiveAll(bytes -> {
            // Piece sizes that cut headers, payloads and MACs at ever other places.
            int[] pieces = {1, 23, 2, 31, 4_093, 5, 8_191, 17, 12_289};
            List<byte[]> out = new ArrayList<>();
            for (int at = 0, i = 0; at < bytes.length; i++) {
                int n = Math.min(pieces[i % pieces.length], bytes.length - at);
                out.add(Arrays.copyOfRange(bytes, at, at + n));
                at += n;
            }
            return out;
        });
    }

    @Test
    void aPollWithNothingComingLeavesTheChannelUsableForTheFramesBehindIt() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<ControlChannel> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    ControlChannel channel = ControlChannel.server(listener.accept(), Duration.ofSeconds(10), Duration.ofSeconds(10));
                    channel.acceptHandshake(KEY);
                    return channel;
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            try (RawPeer peer = new RawPeer((InetSocketAddress) listener.getLocalSocketAddress()).handshake(KEY);
                 ControlChannel channel = accepted.get(30, TimeUnit.SECONDS)) {
                channel.idleTimeout(Duration.ofMillis(50));
                assertThat(channel.poll()).as("nothing sent yet").isNull();
                // Two frames in one write: the first read takes both, the second frame waits in the read-ahead.
                ByteArrayOutputStream two = new ByteArrayOutputStream();
                two.write(peer.frame(MessageType.PING.code(), 1, payload(2)));
                two.write(peer.frame(MessageType.PING.code(), 2, payload(3)));
                peer.send(two.toByteArray());
                channel.idleTimeout(Duration.ofSeconds(10));
                assertThat(channel.poll().payload()).isEqualTo(payload(2));
                channel.idleTimeout(Duration.ofMillis(50));
                Frame second = channel.poll();
                assertThat(second).as("the frame already read ahead, not an idle timeout").isNotNull();
                assertThat(second.requestId()).isEqualTo(2);
                assertThat(second.payload()).isEqualTo(payload(3));
                assertThat(channel.poll()).as("nothing more").isNull();
                peer.close();
                assertThatThrownBy(channel::receive).isInstanceOf(EOFException.class);
            }
        }
    }

    private interface Cutter {
        List<byte[]> cut(byte[] stream);
    }

    private static void receiveAll(Cutter cutter) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<List<Frame>> received = CompletableFuture.supplyAsync(() -> {
                try (Socket socket = listener.accept()) {
                    ControlChannel channel = ControlChannel.server(socket, Duration.ofSeconds(10), Duration.ofSeconds(10));
                    channel.acceptHandshake(KEY);
                    List<Frame> frames = new ArrayList<>();
                    for (int i = 0; i < PAYLOAD_SIZES.length; i++) frames.add(channel.receive());
                    return frames;
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            try (RawPeer peer = new RawPeer((InetSocketAddress) listener.getLocalSocketAddress()).handshake(KEY)) {
                peer.socket.setTcpNoDelay(true); // each piece its own segment: the reader sees the frames cut
                ByteArrayOutputStream stream = new ByteArrayOutputStream();
                for (int i = 0; i < PAYLOAD_SIZES.length; i++) {
                    stream.write(peer.frame(MessageType.PING.code(), 100 + i, payload(i)));
                }
                for (byte[] piece : cutter.cut(stream.toByteArray())) {
                    peer.send(piece);
                    Thread.sleep(0, 200_000);
                }
                List<Frame> frames = received.get(30, TimeUnit.SECONDS);
                assertThat(frames).hasSize(PAYLOAD_SIZES.length);
                for (int i = 0; i < frames.size(); i++) {
                    Frame f = frames.get(i);
                    assertThat(f.messageType()).isEqualTo(MessageType.PING);
                    assertThat(f.requestId()).as("frame %d", i).isEqualTo(100 + i);
                    assertThat(f.payload()).as("payload of frame %d (%d bytes)", i, PAYLOAD_SIZES[i]).isEqualTo(payload(i));
                }
            }
        }
    }

    /** Bytes that differ from frame to frame and position to position, so a slip by one byte shows. */
    private static byte[] payload(int frame) {
        byte[] p = new byte[PAYLOAD_SIZES[frame]];
        for (int j = 0; j < p.length; j++) p[j] = (byte) (j * 31 + frame * 7 + (j >> 8));
        return p;
    }
}
