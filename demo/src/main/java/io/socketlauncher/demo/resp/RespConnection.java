package io.socketlauncher.demo.resp;

import io.socketlauncher.server.Connection;
import io.socketlauncher.server.LauncherServer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.NumberedStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;

/**
 * One client connection's thread. In RESP mode it reads, runs every complete request in the buffer, sends the
 * replies, and only then, between requests, may hand the connection to a peer: bytes of later requests still in
 * the kernel's queue move with the socket, those already read into the buffer move in the session state. In
 * stream mode (after DEMO.STREAM) it checks the client's numbered stream and sends its own, paced.
 */
final class RespConnection {
    private static final int READ_CHUNK = 16 * 1024;
    private static final int MAX_BUFFER = RespParser.MAX_REQUEST + READ_CHUNK;
    private static final int FLUSH_AT = 64 * 1024;
    private static final int STREAM_CHUNK = 4 * 1024;

    private final RespServer owner;
    private final LauncherServer server;
    private final Connection c;
    private final RespCommands commands;
    private final RespServer.Settings settings;
    private final MigrationStats stats;
    private final RespParser parser = new RespParser();
    private final ReplyBuffer replies = new ReplyBuffer();
    private RespCommands.Session session;
    private byte[] data = new byte[READ_CHUNK];
    private int start, end;
    private int requestsSinceMove;

    RespConnection(RespServer owner, LauncherServer server, Connection c, RespCommands commands, RespServer.Settings settings,
                   MigrationStats stats) {
        this.owner = owner;
        this.server = server;
        this.c = c;
        this.commands = commands;
        this.settings = settings;
        this.stats = stats;
    }

    void run() {
        try {
            SessionState state = SessionState.decode(c.applicationState());
            if (c.arrivedFrom().isPresent()) stats.arrived();
            else Libc.setsockopt(c.fd(), Libc.SOL_TCP, Libc.TCP_NODELAY, 1); // as Redis does; the option moves with the socket
            session = new RespCommands.Session(state.database());
            byte[] pending = state.pending();
            if (pending.length > data.length) data = new byte[pending.length + READ_CHUNK];
            System.arraycopy(pending, 0, data, 0, pending.length);
            end = pending.length;
            if (state.streaming()) stream(state.streamReceived(), state.streamSent());
            else serveRequests();
        } catch (SessionState.MalformedSessionStateException e) {
            stats.failure(server.id() + ": connection of " + c.client() + " arrived with a bad session state: " + e.getMessage());
            c.close();
        } catch (IOException | RuntimeException e) {
            if (!owner.closed()) stats.connectionError();
            c.close();
        }
    }

    /** Ends the connection from outside: a blocked read sees end of stream. */
    void shutdown() {
        int fd = c.fd();
        if (fd >= 0) {
            try {
                Libc.shutdown(fd, Libc.SHUT_RDWR);
            } catch (NativeException ignored) {
                // already gone
            }
        }
    }

    private void serveRequests() throws IOException {
        while (true) {
            After after;
            owner.serving(true);
            try {
                after = serveBuffered();
            } finally {
                owner.serving(false);
            }
            if (after == After.END) return;
            if (after == After.STREAM) {
                stream(0, 0);
                return;
            }
            if (end - start <= SessionState.MAX_PENDING) {
                String peer = owner.peerByPolicy(requestsSinceMove);
                if (peer != null) {
                    requestsSinceMove = 0;
                    if (move(peer, new SessionState(session.database(), false, 0, 0, Arrays.copyOfRange(data, start, end)))) return;
                }
            }
            if (!read()) {
                c.close();
                return;
            }
        }
    }

    /** What the connection does once the requests in its buffer are served. */
    private enum After { READ, END, STREAM }

    /** Runs every complete request in the buffer and sends the replies. */
    private After serveBuffered() throws IOException {
        while (true) {
            RespParser.Request r;
            try {
                r = parser.next(data, start, end);
            } catch (RespProtocolException e) {
                replies.error("ERR Protocol error: " + e.getMessage());
                flush();
                stats.protocolError();
                c.close();
                return After.END;
            }
            if (r == null) break;
            start += r.length();
            if (r.args().isEmpty()) continue;
            RespCommands.Next next = commands.execute(r.args(), session, replies);
            requestsSinceMove++;
            stats.request();
            if (replies.size() >= FLUSH_AT) flush();
            if (next == RespCommands.Next.CLOSE) {
                flush();
                c.close();
                return After.END;
            }
            if (next == RespCommands.Next.STREAM) {
                flush();
                return After.STREAM;
            }
        }
        flush();
        return After.READ;
    }

    private boolean read() throws IOException {
        if (start == end) start = end = 0;
        if (data.length - end < READ_CHUNK) {
            if (start > 0) {
                System.arraycopy(data, start, data, 0, end - start);
                end -= start;
                start = 0;
            }
            if (data.length - end < READ_CHUNK && data.length < MAX_BUFFER) {
                data = Arrays.copyOf(data, Math.min(MAX_BUFFER, Math.max(data.length * 2, end + READ_CHUNK)));
            }
        }
        int n = Libc.recv(fd(), data, end, data.length - end, 0);
        if (n <= 0) return false;
        end += n;
        return true;
    }

    private int fd() throws IOException {
        int fd = c.fd();
        if (fd < 0) throw new IOException("connection of " + c.client() + " is closed");
        return fd;
    }

    private void flush() throws IOException {
        if (replies.size() == 0) return;
        c.outputStream().write(replies.array(), 0, replies.size());
        replies.clear();
    }

    /**
     * Hands the connection to the next peer with {@code state}. True if it is gone from here (moved, or lost in
     * a transfer whose outcome is unknown); false if it stayed and this thread carries on.
     */
    private boolean move(String peer, SessionState state) {
        if (peer == null || owner.closed()) return false;
        c.applicationState(state.encode());
        try {
            TransferReport report = server.transfer(c, peer).get();
            stats.migrated(c.client(), report.transferredNanos(), state.pending().length);
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TransferException t && !t.stayedOnSource()) {
                stats.lost(server.id() + ": move of " + c.client() + " to " + peer + " ended in an unknown state: " + t.getMessage());
                return true;
            }
            stats.rolledBack(server.id() + ": move of " + c.client() + " to " + peer + ": " + e.getCause().getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void stream(long received, long sent) throws IOException {
        // Bytes after DEMO.STREAM that came with it are the start of the client's stream.
        if (end > start) {
            if (!check(data, start, end - start, received)) return;
            received += end - start;
        }
        data = null;
        byte[] in = new byte[64 * 1024];
        byte[] out = new byte[STREAM_CHUNK];
        long period = STREAM_CHUNK * 1_000_000_000L / settings.streamBytesPerSecond();
        long moveEvery = settings.moveEveryStream().toNanos();
        long now = System.nanoTime();
        long nextSend = now, nextMove = now + moveEvery;
        while (!owner.closed()) {
            now = System.nanoTime();
            if (moveEvery > 0 && now >= nextMove) {
                if (move(owner.nextPeer(), new SessionState(session.database(), true, received, sent, new byte[0]))) return;
                nextMove = System.nanoTime() + moveEvery;
            }
            boolean sendDue = now >= nextSend;
            int fd = fd();
            Libc.poll(fd, (short) (Libc.POLLIN | (sendDue ? Libc.POLLOUT : 0)), 1);
            int n = Libc.recv(fd, in, 0, in.length, Libc.MSG_DONTWAIT);
            if (n == 0) {
                stats.streamEnded(c.client(), received, sent);
                c.close();
                return;
            }
            if (n > 0) {
                if (!check(in, 0, n, received)) return;
                received += n;
            }
            if (sendDue) {
                NumberedStream.fill(out, STREAM_CHUNK, sent, NumberedStream.SERVER_TO_CLIENT);
                int k = Libc.send(fd, out, 0, STREAM_CHUNK, Libc.MSG_DONTWAIT);
                if (k > 0) sent += k;
                nextSend = Math.max(nextSend + period, now - 100 * period);
            }
        }
    }

    private boolean check(byte[] bytes, int offset, int length, long streamOffset) {
        byte[] chunk = offset == 0 ? bytes : Arrays.copyOfRange(bytes, offset, offset + length);
        long bad = NumberedStream.firstMismatch(chunk, length, streamOffset, NumberedStream.CLIENT_TO_SERVER);
        if (bad >= 0) {
            stats.failure(server.id() + ": byte " + bad + " of the stream from " + c.client() + " differs");
            c.close();
            return false;
        }
        stats.streamChecked(length);
        return true;
    }
}
