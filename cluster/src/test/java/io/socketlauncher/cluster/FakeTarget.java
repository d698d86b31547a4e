package io.socketlauncher.cluster;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.proxy.control.ControlChannel;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.Frame;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.ServerMessages;
import io.socketlauncher.server.hold.HoldPlane;
import io.socketlauncher.testbed.Host;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A target agent that fails after the source has dumped the socket: it holds the flow for real (on s2's data
 * plane) and answers HOLDING, then refuses XFER or never answers it. XFER_ABORT is honoured (the hold discarded),
 * as the real agent does. Serves one channel at a time.
 */
final class FakeTarget implements AutoCloseable {
    enum Failure { REFUSE_XFER, IGNORE_XFER }

    private final ServerSocketChannel listener;
    private final HoldPlane plane;
    private final InetSocketAddress local;
    private final Failure failure;
    private final Thread thread;
    final AtomicInteger aborts = new AtomicInteger();
    private volatile FlowTuple held;
    private volatile Socket current;
    private final byte[] key;

    FakeTarget(Host host, HoldPlane plane, byte[] key, InetSocketAddress listen, InetSocketAddress local, Failure failure) throws Exception {
        this.key = key.clone();
        this.listener = host.namespace().call(() -> ServerSocketChannel.open().bind(listen));
        this.plane = plane;
        this.local = local;
        this.failure = failure;
        this.thread = Thread.ofPlatform().daemon().name("fake-target").start(this::serve);
    }

    private void serve() {
        while (listener.isOpen()) {
            try (Socket s = listener.accept().socket()) {
                current = s;
                ControlChannel ch = ControlChannel.server(s, Duration.ofSeconds(5), Duration.ofSeconds(5));
                ch.acceptHandshake(key);
                ch.idleTimeout(Duration.ofSeconds(30));
                while (true) {
                    Frame f = ch.receive();
                    switch (f.messageType()) {
                        case XFER_PREPARE -> {
                            ServerMessages.Prepare p = ServerMessages.decodePrepare(f.payload());
                            held = new FlowTuple(p.client(), local);
                            plane.hold(held);
                            ch.send(MessageType.HOLDING, f.requestId(), ServerMessages.holding(new ServerMessages.Holding(p.migration(), local)));
                        }
                        case XFER_PART -> { }
                        case XFER -> {
                            if (failure == Failure.REFUSE_XFER) ch.sendError(ErrorCode.OPERATION_FAILED, f.requestId(), "injected restore failure");
                        }
                        case XFER_ABORT -> {
                            ServerMessages.Abort a = ServerMessages.decodeAbort(f.payload());
                            aborts.incrementAndGet();
                            if (a.discard() && held != null) {
                                plane.discard(held);
                                held = null;
                            }
                            ch.send(MessageType.XFER_ABORTED, f.requestId(), ServerMessages.aborted(new ServerMessages.Aborted(a.migration(), false)));
                        }
                        default -> ch.sendError(ErrorCode.UNEXPECTED_TYPE, f.requestId(), "not here");
                    }
                }
            } catch (IOException e) {
                // the source closed the channel, or we are closing
            }
        }
    }

    @Override
    public void close() throws Exception {
        listener.close();
        Socket s = current;
        if (s != null) s.close();
        thread.join(5_000);
        if (held != null) plane.discard(held);
    }
}
