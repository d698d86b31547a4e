package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessagesTest {
    private static final InetSocketAddress VIP = address("10.77.200.1", 80);
    private static final FlowKey FLOW6 = new FlowKey(address("fd77:0:1::2", 51000), address("fd77:0:200::1", 80));

    private static InetSocketAddress address(String ip, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral(ip), port);
    }

    @Test
    void everyPayloadRoundTrips() throws ProtocolException {
        FlowInfo flow = new FlowInfo(FLOW6, "s1", Long.MAX_VALUE, 0, 12);
        BackendInfo backend = new BackendInfo("s1", VIP, address("10.77.101.2", 8080), 0, false, 3, 4, 5);

        assertThat(Messages.decodeFlows(Messages.flows(17))).isEqualTo(17);
        assertThat(Messages.decodeFlowList(Messages.flowList(List.of(flow, flow)))).containsExactly(flow, flow);
        assertThat(Messages.decodeBackendList(Messages.backendList(List.of(backend)))).containsExactly(backend);
        assertThat(Messages.decodeRedirect(Messages.redirect(FLOW6, "s2")))
                .isEqualTo(new Messages.Redirect(FLOW6, "s2"));
        assertThat(Messages.decodeRedirected(Messages.redirected(flow))).isEqualTo(flow);
        assertThat(Messages.decodeAddBackend(Messages.addBackend(VIP, "b-1", address("10.0.0.1", 1), 9)))
                .isEqualTo(new Messages.AddBackend(VIP, "b-1", address("10.0.0.1", 1), 9));
        assertThat(Messages.decodeRemoveBackend(Messages.removeBackend("b.2"))).isEqualTo("b.2");
        assertThat(Messages.decodeSetWeight(Messages.setWeight("b:3", 0))).isEqualTo(new Messages.SetWeight("b:3", 0));
        assertThat(Messages.decodeError(Messages.error(101, "bpf: E2BIG – too big")))
                .isEqualTo(new Messages.Error(101, "bpf: E2BIG – too big"));
    }

    @Test
    void flowLimitAboveTheReplyBoundIsServedAsTheBound() throws ProtocolException {
        assertThat(Messages.decodeFlows(Messages.flows(-1))).isEqualTo(Wire.MAX_FLOWS_PER_REPLY);
    }

    @Test
    void longErrorMessagesAreCutToTheBound() throws ProtocolException {
        String longMessage = "€".repeat(5000);
        Messages.Error error = Messages.decodeError(Messages.error(5, longMessage));
        assertThat(error.message()).endsWith("...").hasSizeLessThan(400);
    }

    @Test
    void truncatedPayloadNamesTheField() {
        byte[] full = Messages.redirect(FLOW6, "s2");
        assertThatThrownBy(() -> Messages.decodeRedirect(Arrays.copyOf(full, 10)))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("REDIRECT payload: flow client address needs 16 bytes, 9 left");
    }

    @Test
    void trailingBytesAreRefused() {
        byte[] padded = Arrays.copyOf(Messages.removeBackend("s1"), 5);
        assertThatThrownBy(() -> Messages.decodeRemoveBackend(padded))
                .hasMessage("REMOVE_BACKEND payload: 2 unexpected trailing bytes");
    }

    @Test
    void lyingCountIsRefusedBeforeAllocating() {
        byte[] payload = ByteBuffer.allocate(2).putShort((short) 0xffff).array();
        assertThatThrownBy(() -> Messages.decodeFlowList(payload))
                .hasMessage("FLOW_LIST payload: count 65535 exceeds 500");
        assertThatThrownBy(() -> Messages.decodeBackendList(payload))
                .hasMessage("BACKEND_LIST payload: count 65535 exceeds 400");
    }

    @Test
    void backendIdsAreBoundedAndPlain() {
        byte[] tooLong = ByteBuffer.allocate(1 + 65).put((byte) 65).array();
        assertThatThrownBy(() -> Messages.decodeRemoveBackend(tooLong))
                .hasMessage("REMOVE_BACKEND payload: backend id length 65 is outside 1..64");
        byte[] empty = {0};
        assertThatThrownBy(() -> Messages.decodeRemoveBackend(empty))
                .hasMessage("REMOVE_BACKEND payload: backend id length 0 is outside 1..64");
        byte[] space = {3, 'a', ' ', 'b'};
        assertThatThrownBy(() -> Messages.decodeRemoveBackend(space))
                .hasMessageContaining("has character U+0020 at 1");
        byte[] badUtf8 = {2, (byte) 0xc3, (byte) 0x28};
        assertThatThrownBy(() -> Messages.decodeRemoveBackend(badUtf8))
                .hasMessage("REMOVE_BACKEND payload: backend id is not valid UTF-8");
        assertThatThrownBy(() -> Messages.removeBackend("s 1")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void unhealthyFlagMustBeABoolean() {
        byte[] payload = Messages.backendList(List.of(
                new BackendInfo("s1", VIP, address("10.77.101.2", 8080), 1, true, 0, 0, 0)));
        payload[2 + 1 + 2 + 7 + 7 + 4] = 2;
        assertThatThrownBy(() -> Messages.decodeBackendList(payload))
                .hasMessage("BACKEND_LIST payload: backend 0 healthy is 2; expected 0 or 1");
    }

    @Test
    void negativeWeightsAreRefusedOnBothSides() {
        assertThatThrownBy(() -> Messages.setWeight("s1", -1)).hasMessage("weight -1 is negative; 0 drains");
        byte[] payload = Messages.addBackend(VIP, "s1", VIP, 1);
        ByteBuffer.wrap(payload).putInt(payload.length - 4, Integer.MIN_VALUE);
        assertThatThrownBy(() -> Messages.decodeAddBackend(payload))
                .hasMessage("ADD_BACKEND payload: weight -2147483648 is negative");
    }

    @Test
    void unresolvedAddressesAreNotSent() {
        assertThatThrownBy(() -> Messages.redirect(
                new FlowKey(InetSocketAddress.createUnresolved("client.example", 1), VIP), "s1"))
                .hasMessageContaining("is unresolved");
    }

    @Test
    void typeCodesAreUniqueAndInTheirRanges() {
        assertThat(Arrays.stream(MessageType.values()).map(MessageType::code).distinct())
                .hasSize(MessageType.values().length);
        for (MessageType t : MessageType.values()) {
            assertThat(MessageType.of(t.code())).isSameAs(t);
            // session and proxy control up to 0x01FF; the server protocol (live migration) in 0x0200-0x02FF
            assertThat(t.code()).isBetween(0x0001, 0x02FF);
        }
        assertThat(MessageType.of(0x0200)).isNull();
        assertThat(MessageType.describe(0xF00D)).isEqualTo("type 0xf00d");
    }
}
