package io.socketlauncher.cluster;

import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.Wire;
import io.socketlauncher.testbed.Host;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP relay in front of a real migration agent that can lose the agent's next XFERED, or act (kill the target) at
 * the moment a given message passes: the frames pass through untouched (they are authenticated end to end; the
 * relay only reads the clear header to find frame boundaries), except that one XFERED is swallowed, and from then on
 * that channel carries nothing more towards the source, as a link that failed just after the target committed.
 */
final class LossyPeerRelay implements AutoCloseable {
    private final ServerSocketChannel listener;
    private final Host host;
    private final InetSocketAddress agent;
    private final Thread acceptor;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean loseNextXfered = new AtomicBoolean();
    final AtomicInteger lostXfered = new AtomicInteger();
    private final AtomicReference<Cue> cue = new AtomicReference<>();

    /** Runs {@code action} once, when the next frame of one of {@code types} (either direction) is about to pass on. */
    private record Cue(Set<MessageType> types, Runnable action) {
    }

    LossyPeerRelay(Host host, InetSocketAddress listen, InetSocketAddress agent) throws Exception {
        this.host = host;
        this.agent = agent;
        this.listener = host.namespace().call(() -> ServerSocketChannel.open().bind(listen));
        this.acceptor = Thread.ofPlatform().daemon().name("relay-accept").start(this::acceptLoop);
    }

    void loseNextXfered() {
        loseNextXfered.set(true);
    }

    /** Runs {@code action} just before the next frame of one of {@code types} passes on, in either direction. */
    void beforeNext(Set<MessageType> types, Runnable action) {
        cue.set(action == null ? null : new Cue(types, action));
    }

    private void acceptLoop() {
        while (listener.isOpen()) {
            try {
                Socket source = listener.accept().socket();
                Socket target;
                try {
                    target = host.namespace().call(() -> SocketChannel.open(agent)).socket();
                } catch (Exception e) {
                    // The agent is gone: the source sees what it would see without the relay, a reset.
                    source.setSoLinger(true, 0);
                    source.close();
                    continue;
                }
                sockets.add(source);
                sockets.add(target);
                source.setTcpNoDelay(true);
                target.setTcpNoDelay(true);
                Thread.ofPlatform().daemon().name("relay-to-target").start(() -> frames(source, target));
                Thread.ofPlatform().daemon().name("relay-to-source").start(() -> frames(target, source));
            } catch (Exception e) {
                return; // closed
            }
        }
    }

    /** Frame by frame: a lost XFERED stalls the channel (nothing more reaches the source). */
    private void frames(Socket from, Socket to) {
        try (from; to) {
            DataInputStream in = new DataInputStream(from.getInputStream());
            OutputStream out = to.getOutputStream();
            byte[] header = new byte[Wire.HEADER_BYTES];
            boolean stalled = false;
            while (true) {
                in.readFully(header);
                ByteBuffer h = ByteBuffer.wrap(header);
                int type = Short.toUnsignedInt(h.getShort(6));
                long length = Integer.toUnsignedLong(h.getInt(20));
                if (length > Wire.MAX_PAYLOAD) throw new IOException("frame of " + length + " bytes: not the control protocol");
                byte[] rest = new byte[(int) length + Wire.MAC_BYTES];
                in.readFully(rest);
                if (type == MessageType.XFERED.code() && loseNextXfered.compareAndSet(true, false)) {
                    lostXfered.incrementAndGet();
                    stalled = true;
                }
                if (stalled) continue;
                Cue c = cue.get();
                MessageType known = known(type);
                if (c != null && known != null && c.types().contains(known) && cue.compareAndSet(c, null)) c.action().run();
                out.write(header);
                out.write(rest);
            }
        } catch (IOException e) {
            // either side closed
        }
    }

    private static MessageType known(int code) {
        for (MessageType t : MessageType.values()) if (t.code() == code) return t;
        return null;
    }

    @Override
    public void close() throws Exception {
        listener.close();
        for (Socket s : sockets) s.close();
        acceptor.join(5_000);
    }
}
