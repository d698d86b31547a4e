package io.socketlauncher.proxy.control;

import java.util.ArrayList;
import java.util.List;

/**
 * Payload layouts of discovery (docs/control-protocol.md, "Discovery"), big-endian like {@link Messages}. A server
 * entry is its id (u8 length + UTF-8, the backend id rules) and its agent address.
 */
public final class DiscoveryMessages {
    private DiscoveryMessages() {
    }

    /** One PEER_LIST frame: some of the servers; {@code more} says further PEER_LIST frames complete the list. */
    public record PeerListPart(boolean more, List<ServerInfo> servers) {
    }

    // HELLO: server entry of the sender.
    public static byte[] hello(ServerInfo self) {
        return server(new PayloadWriter(), self).toByteArray();
    }

    public static ServerInfo decodeHello(byte[] payload) throws ProtocolException {
        return decodeOne("HELLO", payload);
    }

    // PEER_LIST: more u8 (0|1), count u16 (at most MAX_PEERS_PER_MESSAGE), count server entries.
    public static byte[] peerList(boolean more, List<ServerInfo> servers) {
        if (servers.size() > Wire.MAX_PEERS_PER_MESSAGE) {
            throw new IllegalArgumentException(servers.size() + " servers exceed the " + Wire.MAX_PEERS_PER_MESSAGE
                    + " one PEER_LIST frame carries");
        }
        PayloadWriter w = new PayloadWriter().u8(more ? 1 : 0).u16(servers.size());
        servers.forEach(s -> server(w, s));
        return w.toByteArray();
    }

    /** The list cut into frames of at most {@link Wire#MAX_PEERS_PER_MESSAGE}; an empty list is one empty frame. */
    public static List<byte[]> peerListFrames(List<ServerInfo> servers) {
        List<byte[]> frames = new ArrayList<>();
        int from = 0;
        do {
            int to = Math.min(servers.size(), from + Wire.MAX_PEERS_PER_MESSAGE);
            frames.add(peerList(to < servers.size(), servers.subList(from, to)));
            from = to;
        } while (from < servers.size());
        return frames;
    }

    public static PeerListPart decodePeerList(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("PEER_LIST", payload);
        int more = r.u8("more");
        if (more > 1) {
            throw r.malformed("more flag " + more + "; expected 0 or 1");
        }
        int count = r.u16("count");
        if (count > Wire.MAX_PEERS_PER_MESSAGE) {
            throw r.malformed("count " + count + " exceeds " + Wire.MAX_PEERS_PER_MESSAGE + " servers per frame");
        }
        List<ServerInfo> servers = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            servers.add(server(r, "server " + i));
        }
        r.end();
        return new PeerListPart(more == 1, servers);
    }

    // PEER_JOIN: server entry.
    public static byte[] peerJoin(ServerInfo joined) {
        return server(new PayloadWriter(), joined).toByteArray();
    }

    public static ServerInfo decodePeerJoin(byte[] payload) throws ProtocolException {
        return decodeOne("PEER_JOIN", payload);
    }

    // PEER_LEAVE: server id.
    public static byte[] peerLeave(String id) {
        return new PayloadWriter().backendId(id).toByteArray();
    }

    public static String decodePeerLeave(byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader("PEER_LEAVE", payload);
        String id = r.backendId("server id");
        r.end();
        return id;
    }

    private static ServerInfo decodeOne(String message, byte[] payload) throws ProtocolException {
        PayloadReader r = new PayloadReader(message, payload);
        ServerInfo s = server(r, "server");
        r.end();
        return s;
    }

    private static PayloadWriter server(PayloadWriter w, ServerInfo s) {
        return w.backendId(s.id()).address(s.agent());
    }

    private static ServerInfo server(PayloadReader r, String field) throws ProtocolException {
        String id = r.backendId(field + " id");
        return new ServerInfo(id, r.address(field + " agent address"));
    }
}
