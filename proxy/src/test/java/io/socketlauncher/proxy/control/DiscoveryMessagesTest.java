package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Discovery payloads at their largest: 64-byte ids, IPv6 agent addresses, lists over several frames. */
class DiscoveryMessagesTest {
    private static ServerInfo largest(int i) {
        String id = String.format("%064d", i);
        return new ServerInfo(id, new InetSocketAddress(InetAddress.ofLiteral("fd77:0:101::" + Integer.toHexString(i + 1)), 65535));
    }

    @Test
    void helloJoinAndLeaveRoundTrip() throws ProtocolException {
        ServerInfo s = largest(7);
        assertThat(DiscoveryMessages.decodeHello(DiscoveryMessages.hello(s))).isEqualTo(s);
        assertThat(DiscoveryMessages.decodePeerJoin(DiscoveryMessages.peerJoin(s))).isEqualTo(s);
        assertThat(DiscoveryMessages.decodePeerLeave(DiscoveryMessages.peerLeave(s.id()))).isEqualTo(s.id());
    }

    @Test
    void aLongListIsCutIntoFramesThatFitAndComeBackWhole() throws ProtocolException {
        List<ServerInfo> servers = new ArrayList<>();
        for (int i = 0; i < 2 * Wire.MAX_PEERS_PER_MESSAGE + 1; i++) servers.add(largest(i));
        List<byte[]> frames = DiscoveryMessages.peerListFrames(servers);
        assertThat(frames).hasSize(3);
        List<ServerInfo> back = new ArrayList<>();
        for (int i = 0; i < frames.size(); i++) {
            assertThat(frames.get(i).length).isLessThanOrEqualTo(Wire.MAX_PAYLOAD);
            DiscoveryMessages.PeerListPart part = DiscoveryMessages.decodePeerList(frames.get(i));
            assertThat(part.more()).isEqualTo(i < 2);
            back.addAll(part.servers());
        }
        assertThat(back).isEqualTo(servers);
        assertThat(DiscoveryMessages.peerListFrames(List.of())).hasSize(1)
                .allSatisfy(f -> assertThat(DiscoveryMessages.decodePeerList(f)).isEqualTo(new DiscoveryMessages.PeerListPart(false, List.of())));
    }

    @Test
    void aListFrameClaimingTooManyServersIsRefusedBeforeReadingThem() {
        byte[] payload = ByteBuffer.allocate(3).put((byte) 0).putShort((short) (Wire.MAX_PEERS_PER_MESSAGE + 1)).array();
        assertThatThrownBy(() -> DiscoveryMessages.decodePeerList(payload)).isInstanceOf(ProtocolException.class)
                .hasMessage("PEER_LIST payload: count 501 exceeds 500 servers per frame");
        byte[] badFlag = ByteBuffer.allocate(3).put((byte) 2).putShort((short) 0).array();
        assertThatThrownBy(() -> DiscoveryMessages.decodePeerList(badFlag)).hasMessage("PEER_LIST payload: more flag 2; expected 0 or 1");
        byte[] shortList = ByteBuffer.allocate(3).put((byte) 0).putShort((short) 2).array();
        assertThatThrownBy(() -> DiscoveryMessages.decodePeerList(shortList)).hasMessageContaining("server 0 id length needs 1 bytes, 0 left");
    }
}
