package io.socketlauncher.server.migration;

import io.socketlauncher.proxy.control.ControlClient;
import io.socketlauncher.proxy.control.ControlException;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.FlowInfo;
import io.socketlauncher.proxy.control.FlowKey;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Control clients to the proxy, pooled; a client that failed (outcome unknown) is dropped. At most
 * {@link #MAX_CONNECTIONS} are open at once: many migrations at the same moment share them rather than opening
 * a connection each (hundreds of simultaneous handshakes outlasted the proxy's handshake timeout). {@link #fill}
 * opens them ahead of need.
 */
final class ProxyLink implements Closeable {
    static final int MAX_CONNECTIONS = 16;

    private final InetSocketAddress address;
    private final byte[] key;
    private final Duration timeout;
    /** A permit for every client in use. */
    private final Semaphore connections = new Semaphore(MAX_CONNECTIONS, true);
    private final ChannelPool<ControlClient> pool;

    ProxyLink(InetSocketAddress address, byte[] key, Duration timeout) {
        this.address = address;
        this.key = key.clone();
        this.timeout = timeout;
        this.pool = new ChannelPool<>("the link to the proxy at " + address, new ChannelPool.Channels<>() {
            @Override
            public ControlClient open() throws IOException {
                return ControlClient.connect(address, ProxyLink.this.key, timeout);
            }

            /** Every path drops a client once: the one that holds it. */
            @Override
            public boolean close(ControlClient client) {
                try {
                    client.close();
                } catch (IOException ignored) {
                    // dropping it is all we wanted
                }
                return true;
            }
        }, connections);
    }

    /**
     * REDIRECT, answered by REDIRECTED. A refusal ({@link IllegalArgumentException}, {@link ControlException})
     * means the flow was not touched; any other {@link IOException} leaves the outcome unknown.
     */
    FlowInfo redirect(FlowKey flow, String backendId) throws IOException {
        return send(flow, backendId).await();
    }

    /**
     * Sends REDIRECT and returns at once; {@link PendingRedirect#await} (exactly once, on every path) takes the answer
     * and gives the connection back. An {@link IOException} here leaves the outcome unknown, as in {@link #redirect}.
     */
    PendingRedirect send(FlowKey flow, String backendId) throws IOException {
        try {
            if (!connections.tryAcquire(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new NotSentException("no connection to the proxy free within " + timeout.toMillis() + " ms ("
                        + MAX_CONNECTIONS + " busy); REDIRECT not sent", null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NotSentException("interrupted while waiting for a connection to the proxy; REDIRECT not sent", e);
        }
        ControlClient client = null;
        try {
            client = pool.takeIdle();
            if (client == null) {
                try {
                    client = pool.open();
                } catch (IOException e) {
                    throw new NotSentException("no connection to the proxy: " + e.getMessage() + "; REDIRECT not sent", e);
                }
            }
            return new PendingRedirect(client, client.sendRedirect(flow, backendId));
        } catch (IllegalArgumentException e) {
            // Refused before anything was sent (a flow or id that can't be encoded): the connection is as good as before.
            if (client != null) pool.put(client);
            connections.release();
            throw e;
        } catch (IOException | RuntimeException e) {
            if (client != null) pool.discard(client);
            connections.release();
            throw e;
        }
    }

    /** A REDIRECT that never left: the proxy can't have carried it out. */
    static final class NotSentException extends IOException {
        NotSentException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A REDIRECT on its way: it holds one of the link's connections until answered. */
    final class PendingRedirect {
        private final ControlClient client;
        private final int request;
        private boolean answered;

        private PendingRedirect(ControlClient client, int request) {
            this.client = client;
            this.request = request;
        }

        /** REDIRECTED, or the refusal or failure {@link ProxyLink#redirect} would throw. */
        FlowInfo await() throws IOException {
            if (answered) throw new IllegalStateException("REDIRECT " + request + " was answered already");
            answered = true;
            try {
                FlowInfo info = client.awaitRedirected(request);
                pool.put(client);
                return info;
            } catch (IllegalArgumentException e) {
                pool.put(client);
                throw e;
            } catch (ControlException e) {
                // The client closed itself for the codes that end the connection.
                ErrorCode code = e.errorCode();
                if (code == null || code.closesConnection()) pool.discard(client);
                else pool.put(client);
                throw e;
            } catch (IOException | RuntimeException e) {
                pool.discard(client);
                throw e;
            } finally {
                connections.release();
            }
        }
    }

    /** Points the flow at {@code backendId}, retrying on fresh connections until confirmed or {@code within} ends. */
    FlowInfo redirectUntilConfirmed(FlowKey flow, String backendId, Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try {
                return redirect(flow, backendId);
            } catch (IOException e) {
                last = e;
                sleep(50);
            }
        }
        throw new IOException("the proxy did not confirm " + flow + " -> " + backendId + " within " + within.toMillis() + " ms", last);
    }

    /**
     * Opens clients until {@code target} are open (at most {@link #MAX_CONNECTIONS}), each under one of the
     * permits the migrations take; returns how many it opened.
     */
    int fill(int target) throws IOException {
        return pool.fill(Math.min(target, MAX_CONNECTIONS));
    }

    /** Pings each client idle now, once; one that does not answer is closed. Returns how many were closed. */
    int keepAlive() {
        return pool.upkeep(MAX_CONNECTIONS, Long.MAX_VALUE, ControlClient::ping);
    }

    int openClients() {
        return pool.openChannels();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        pool.close();
    }
}
