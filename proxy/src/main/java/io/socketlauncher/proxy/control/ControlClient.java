package io.socketlauncher.proxy.control;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;

/**
 * The proxy's control operations, called over the network. One request at a time per client (the methods are
 * synchronized; {@link #sendRedirect} leaves its request open until {@link #awaitRedirected}); open several clients
 * for parallel requests. The socket is created on the calling thread, so it
 * lives in that thread's network namespace.
 *
 * <p>A request the proxy refuses as invalid (unknown flow or backend) throws {@link IllegalArgumentException} with
 * the proxy's message, as the local {@link ProxyOperations} would; other refusals throw {@link ControlException}.
 * After a protocol error or a timeout the outcome of the request is unknown and the client is closed.
 */
public final class ControlClient implements ProxyOperations, AutoCloseable {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private final InetSocketAddress server;
    private final ControlChannel channel;
    private int lastRequestId;
    /** The request sent and not yet answered, 0 if none. */
    private int awaiting;
    private boolean closed;

    private ControlClient(InetSocketAddress server, ControlChannel channel) {
        this.server = server;
        this.channel = channel;
    }

    public static ControlClient connect(InetSocketAddress server, byte[] key) throws IOException {
        return connect(server, key, DEFAULT_TIMEOUT);
    }

    /** Connects and authenticates; {@code timeout} bounds the connect, the handshake and every later reply. */
    public static ControlClient connect(InetSocketAddress server, byte[] key, Duration timeout) throws IOException {
        Wire.checkKey(key);
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            try {
                socket.connect(server, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            } catch (IOException e) {
                throw new IOException("cannot connect to the proxy control server at " + Endpoints.format(server) + ": "
                        + e.getMessage(), e);
            }
            return new ControlClient(server, ControlChannel.client(socket, key, timeout));
        } catch (ProtocolException e) {
            socket.close();
            throw new ProtocolException(e.code(), "handshake with " + Endpoints.format(server) + " failed: " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** The proxy's control address this client talks to. */
    public InetSocketAddress server() {
        return server;
    }

    /** Round trip without side effects: proves the connection and the key still work. */
    public void ping() throws IOException {
        call(MessageType.PING, new byte[0], MessageType.PONG);
    }

    /** At most {@link Wire#MAX_FLOWS_PER_REPLY} flows, whatever the limit. */
    @Override
    public List<FlowInfo> flows(int limit) throws IOException {
        if (limit < 0) {
            throw new IllegalArgumentException("flow limit " + limit + " is negative");
        }
        return Messages.decodeFlowList(call(MessageType.FLOWS, Messages.flows(limit), MessageType.FLOW_LIST));
    }

    @Override
    public List<BackendInfo> backends() throws IOException {
        return Messages.decodeBackendList(call(MessageType.BACKENDS, new byte[0], MessageType.BACKEND_LIST));
    }

    @Override
    public synchronized FlowInfo redirect(FlowKey flow, String backendId) throws IOException {
        return awaitRedirected(sendRedirect(flow, backendId));
    }

    /**
     * Sends REDIRECT without waiting for the answer, so that the caller can work meanwhile; {@link #awaitRedirected}
     * with the returned request id takes the answer, before any other request on this client.
     */
    public int sendRedirect(FlowKey flow, String backendId) throws IOException {
        return send(MessageType.REDIRECT, Messages.redirect(flow, backendId));
    }

    /** The answer to {@link #sendRedirect}: what {@link #redirect} returns or throws. */
    public FlowInfo awaitRedirected(int requestId) throws IOException {
        return Messages.decodeRedirected(await(requestId, MessageType.REDIRECT, MessageType.REDIRECTED));
    }

    @Override
    public void addBackend(InetSocketAddress vip, String backendId, InetSocketAddress address, int weight)
            throws IOException {
        ok(call(MessageType.ADD_BACKEND, Messages.addBackend(vip, backendId, address, weight), MessageType.OK));
    }

    @Override
    public void removeBackend(String backendId) throws IOException {
        ok(call(MessageType.REMOVE_BACKEND, Messages.removeBackend(backendId), MessageType.OK));
    }

    @Override
    public void setWeight(String backendId, int weight) throws IOException {
        ok(call(MessageType.SET_WEIGHT, Messages.setWeight(backendId, weight), MessageType.OK));
    }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        channel.close();
    }

    private static void ok(byte[] payload) throws ProtocolException {
        Messages.requireEmpty("OK", payload);
    }

    private synchronized byte[] call(MessageType request, byte[] payload, MessageType expected) throws IOException {
        return await(send(request, payload), request, expected);
    }

    private synchronized int send(MessageType request, byte[] payload) throws IOException {
        if (closed) {
            throw new IOException("control client for " + Endpoints.format(server) + " is closed");
        }
        if (awaiting != 0) {
            throw new IllegalStateException("request " + awaiting + " to " + Endpoints.format(server) + " is still unanswered");
        }
        int id = ++lastRequestId;
        if (id == 0) id = ++lastRequestId;
        try {
            channel.send(request, id, payload);
        } catch (IOException e) {
            close();
            throw new IOException(request + " to " + Endpoints.format(server) + " failed: " + e.getMessage(), e);
        }
        awaiting = id;
        return id;
    }

    private synchronized byte[] await(int id, MessageType request, MessageType expected) throws IOException {
        if (id != awaiting || id == 0) {
            throw new IllegalStateException("no request " + id + " unanswered on " + Endpoints.format(server));
        }
        awaiting = 0;
        try {
            Frame reply = channel.receive();
            if (reply.requestId() != id) {
                throw new ProtocolException(ErrorCode.MALFORMED, "reply to request " + reply.requestId()
                        + " while waiting for request " + id);
            }
            MessageType type = reply.messageType();
            if (type == MessageType.ERROR) {
                Messages.Error error = Messages.decodeError(reply.payload());
                ErrorCode code = ErrorCode.of(error.code());
                if (code == ErrorCode.INVALID_ARGUMENT) {
                    throw new IllegalArgumentException(error.message());
                }
                if (code == null || code.closesConnection()) {
                    close();
                }
                throw new ControlException(request + " refused by " + Endpoints.format(server) + ": " + error.message() + " ("
                        + (code != null ? code.name() : "error " + error.code()) + ")", error.code());
            }
            if (type != expected) {
                throw new ProtocolException(ErrorCode.UNEXPECTED_TYPE,
                        "expected " + expected + " in reply to " + request + ", got " + type);
            }
            return reply.payload();
        } catch (ProtocolException e) {
            close();
            throw new ProtocolException(e.code(), request + " to " + Endpoints.format(server) + ": " + e.getMessage());
        } catch (ControlException | IllegalArgumentException e) {
            throw e;
        } catch (IOException e) {
            close();
            throw new IOException(request + " to " + Endpoints.format(server) + " failed: " + e.getMessage(), e);
        }
    }
}
