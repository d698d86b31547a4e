package io.socketlauncher.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;

/** A hand-driven control peer that can send what a ControlClient never would: forged, truncated, replayed frames. */
final class RawPeer implements AutoCloseable {
    final Socket socket;
    private Mac sendMac;
    private Mac receiveMac;
    long nextSequence = 1;

    record Received(int type, long sequence, int requestId, byte[] payload, byte[] mac, boolean macVerified) {
    }

    RawPeer(InetSocketAddress server) throws IOException {
        socket = new Socket();
        socket.connect(server, 5000);
        socket.setSoTimeout(10_000);
    }

    /** The client side of the handshake, by hand, so the session keys are known to the test. */
    RawPeer handshake(byte[] key) throws IOException {
        byte[] clientNonce = new byte[Wire.NONCE_BYTES];
        Arrays.fill(clientNonce, (byte) 7);
        send(ControlChannel.encode(MessageType.AUTH_INIT.code(), 0, 0, clientNonce, ControlChannel.mac(key)));
        Received challenge = receive();
        assertThat(challenge.type()).isEqualTo(MessageType.AUTH_CHALLENGE.code());
        byte[] serverNonce = challenge.payload();
        sendMac = ControlChannel.mac(ControlChannel.sessionKey(key, "SLCP1 client->server", clientNonce, serverNonce));
        receiveMac = ControlChannel.mac(
                ControlChannel.sessionKey(key, "SLCP1 server->client", clientNonce, serverNonce));
        return this;
    }

    /** A correctly authenticated frame with the next sequence number (not sent). */
    byte[] frame(int type, int requestId, byte[] payload) {
        return ControlChannel.encode(type, nextSequence++, requestId, payload, sendMac);
    }

    void send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    Received receive() throws IOException {
        InputStream in = socket.getInputStream();
        byte[] header = in.readNBytes(Wire.HEADER_BYTES);
        assertThat(header).as("a whole frame header from the server").hasSize(Wire.HEADER_BYTES);
        ByteBuffer h = ByteBuffer.wrap(header);
        assertThat(h.getInt(0)).isEqualTo(Wire.MAGIC);
        int length = h.getInt(20);
        byte[] payload = in.readNBytes(length);
        byte[] mac = in.readNBytes(Wire.MAC_BYTES);
        boolean verified = false;
        if (receiveMac != null) {
            receiveMac.update(header);
            receiveMac.update(payload);
            verified = MessageDigest.isEqual(receiveMac.doFinal(), mac);
        }
        return new Received(h.getShort(6) & 0xffff, h.getLong(8), h.getInt(16), payload, mac, verified);
    }

    /**
     * Expects an ERROR with this code and a message containing {@code detail}, then the server closing the
     * connection. Before the handshake the error carries an all-zero MAC, after it the session MAC.
     */
    Messages.Error expectErrorAndClose(ErrorCode code, String detail) throws IOException {
        Received r = receive();
        assertThat(MessageType.describe(r.type())).isEqualTo("ERROR");
        Messages.Error error = Messages.decodeError(r.payload());
        assertThat(ErrorCode.of(error.code())).as(error.message()).isEqualTo(code);
        assertThat(error.message()).contains(detail);
        if (receiveMac != null) {
            assertThat(r.macVerified()).as("error after the handshake is authenticated").isTrue();
        } else {
            assertThat(r.mac()).containsOnly(0);
        }
        assertThat(socket.getInputStream().read()).as("server closed the connection").isEqualTo(-1);
        return error;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
