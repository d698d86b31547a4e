package io.socketlauncher.proxy.control;

import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadFactory;

/**
 * The servers that joined through this control server (HELLO), each with the control connection it joined on. A
 * server stays joined while that connection is open; when it closes, every other server hears PEER_LEAVE.
 *
 * <p>Pushes to a server go through its own outbox, drained by its own thread: a server that stops reading
 * delays nobody else, and once its outbox is full it is cut off (its connection closed, so it leaves). Everything
 * a server is sent after its HELLO (the PEER_LIST reply, then PEER_JOIN and PEER_LEAVE) goes through the outbox,
 * in the order the registry decided it, so a server never hears of a change before the list it applies to.
 */
final class ServerRegistry {
    private static final System.Logger LOG = System.getLogger(ServerRegistry.class.getName());
    /** Far more than any burst of joins and leaves; a server this far behind is not reading. */
    static final int OUTBOX_LIMIT = 4096;

    private final int maxServers;
    private final ThreadFactory threads;
    private final Map<String, Member> byId = new LinkedHashMap<>();
    private final Map<ControlChannel, Member> byChannel = new IdentityHashMap<>();

    ServerRegistry(int maxServers, ThreadFactory threads) {
        this.maxServers = maxServers;
        this.threads = threads;
    }

    private record Push(MessageType type, int requestId, byte[] payload) {
    }

    private static final Push STOP = new Push(MessageType.PING, 0, new byte[0]);

    private final class Member {
        final ServerInfo info;
        final ControlChannel channel;
        final Socket socket;
        final BlockingQueue<Push> outbox = new ArrayBlockingQueue<>(OUTBOX_LIMIT + 1);

        Member(ServerInfo info, ControlChannel channel) {
            this.info = info;
            this.channel = channel;
            this.socket = channel.socket();
        }

        void push(Push p) {
            if (!outbox.offer(p)) {
                LOG.log(System.Logger.Level.WARNING, "server " + info.id() + " reads no discovery updates ("
                        + OUTBOX_LIMIT + " pending); closing its control connection");
                closeQuietly();
            }
        }

        void send() {
            try {
                for (Push p; (p = outbox.take()) != STOP; ) {
                    channel.send(p.type(), p.requestId(), p.payload());
                }
            } catch (IOException e) {
                // Its serving thread sees the closed connection and makes it leave.
                closeQuietly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void closeQuietly() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing is all we wanted
            }
        }
    }

    /**
     * Joins a server: it is sent the servers joined before it (PEER_LIST, replying to {@code requestId}) and every
     * other server hears PEER_JOIN. A second HELLO on a connection, an id joined on another connection (refused
     * rather than taken over: two servers configured with one id would take turns) or a full registry is refused.
     */
    synchronized void join(ServerInfo server, ControlChannel channel, int requestId) throws IOException {
        Member already = byChannel.get(channel);
        if (already != null) {
            throw new IllegalArgumentException("this connection already joined as server " + already.info.id());
        }
        Member other = byId.get(server.id());
        if (other != null) {
            throw new IllegalArgumentException("server id " + server.id() + " is already joined from "
                    + other.socket.getRemoteSocketAddress() + " (agent " + Endpoints.format(other.info.agent())
                    + "); it leaves when its control connection closes");
        }
        if (byId.size() >= maxServers) {
            throw new IOException("the control server already has " + byId.size() + " servers joined, its limit");
        }
        Member member = new Member(server, channel);
        List<ServerInfo> peers = new ArrayList<>(byId.size());
        for (Member m : byId.values()) {
            peers.add(m.info);
            m.push(new Push(MessageType.PEER_JOIN, 0, DiscoveryMessages.peerJoin(server)));
        }
        for (byte[] part : DiscoveryMessages.peerListFrames(peers)) {
            member.push(new Push(MessageType.PEER_LIST, requestId, part));
        }
        byId.put(server.id(), member);
        byChannel.put(channel, member);
        Thread sender = threads.newThread(member::send);
        sender.setName("sl-control-push-" + server.id());
        sender.start();
    }

    /** The server that joined on this connection (if one did) leaves: every other server hears PEER_LEAVE. */
    synchronized void leave(ControlChannel channel) {
        Member member = byChannel.remove(channel);
        if (member == null) {
            return;
        }
        byId.remove(member.info.id());
        member.outbox.clear();
        member.outbox.offer(STOP);
        byte[] leave = DiscoveryMessages.peerLeave(member.info.id());
        for (Member m : byId.values()) {
            m.push(new Push(MessageType.PEER_LEAVE, 0, leave));
        }
    }

    synchronized List<ServerInfo> servers() {
        return byId.values().stream().map(m -> m.info).toList();
    }
}
