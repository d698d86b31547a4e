package io.socketlauncher.cluster;

import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.Wire;
import io.socketlauncher.testbed.Host;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
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

/**
 * A TCP relay in front of a real migration agent that can lose the agent's next XFERED: the frames pass through
 * untouched (they are authenticated end to end; the relay only reads the clear header to find frame boundaries),
 * except that one XFERED is swallowed, and from then on that channel carries nothing more towards the source, as a
 * link that failed just after the target committed.
 */
final class LossyPeerRelay implements AutoCloseable {
    private final ServerSocketChannel listener;
    private final Host host;
    private final InetSocketAddress agent;
    private final Thread acceptor;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean loseNextXfered = new AtomicBoolean();
    final AtomicInteger lostXfered = new AtomicInteger();

    LossyPeerRelay(Host host, InetSocketAddress listen, InetSocketAddress agent) throws Exception {
        this.host = host;
        this.agent = agent;
        this.listener = host.namespace().call(() -> ServerSocketChannel.open().bind(listen));
        this.acceptor = Thread.ofPlatform().daemon().name("relay-accept").start(this::acceptLoop);
    }

    void loseNextXfered() {
        loseNextXfered.set(true);
    }

    private void acceptLoop() {
        while (listener.isOpen()) {
            try {
                Socket source = listener.accept().socket();
                Socket target = host.namespace().call(() -> SocketChannel.open(agent)).socket();
                sockets.add(source);
                sockets.add(target);
                source.setTcpNoDelay(true);
                target.setTcpNoDelay(true);
                Thread.ofPlatform().daemon().name("relay-to-target").start(() -> copy(source, target));
                Thread.ofPlatform().daemon().name("relay-to-source").start(() -> frames(target, source));
            } catch (Exception e) {
                return; // closed
            }
        }
    }

    private void copy(Socket from, Socket to) {
        byte[] buf = new byte[64 * 1024];
        try (from; to) {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            for (int n; (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
        } catch (IOException e) {
            // either side closed
        }
    }

    /** Target to source, frame by frame: a lost XFERED stalls the channel (nothing more reaches the source). */
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
                out.write(header);
                out.write(rest);
            }
        } catch (IOException e) {
            // either side closed
        }
    }

    @Override
    public void close() throws Exception {
        listener.close();
        for (Socket s : sockets) s.close();
        acceptor.join(5_000);
    }
}
