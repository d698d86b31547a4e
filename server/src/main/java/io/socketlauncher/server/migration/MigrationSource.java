package io.socketlauncher.server.migration;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.proxy.control.ControlException;
import io.socketlauncher.proxy.control.ErrorCode;
import io.socketlauncher.proxy.control.FlowKey;
import io.socketlauncher.proxy.control.MessageType;
import io.socketlauncher.proxy.control.ProtocolException;
import io.socketlauncher.proxy.control.ServerMessages;
import io.socketlauncher.proxy.control.ServerMessages.Disposition;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.server.Peer;
import io.socketlauncher.server.TransferException;
import io.socketlauncher.server.TransferReport;
import io.socketlauncher.server.TransferException.Stage;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The source's side of one migration, in the order that measured lossless (docs/migration.md):
 * <ol>
 *   <li>XFER_PREPARE to the target, which starts holding the flow and answers HOLDING;</li>
 *   <li>REDIRECT to the proxy, whose answer (REDIRECTED: new segments now go to the target and wait there) is taken
 *       after the capture;</li>
 *   <li>meanwhile, forwarding of whatever of the flow still reaches this server to the target's hold, and a short
 *       drain of what is already in the stack;</li>
 *   <li>capture of the socket in repair mode (it stays open, silent, until the target confirms);</li>
 *   <li>XFER (state and application blob) to the target, which restores the socket, releases the held segments
 *       into it and answers XFERED; only then is the source's socket closed, without FIN or RST.</li>
 * </ol>
 * From the capture until the socket is closed (or resumed after a rollback), the flow can't come back to this server:
 * a target that sends it straight back waits in XFER_PREPARE for this migration to end.
 * Every failure rolls back so that the connection stays alive where it was (see {@link TransferException}).
 * Runs on a thread inside the server's network namespace.
 */
public final class MigrationSource {
    private static final System.Logger LOG = System.getLogger(MigrationSource.class.getName());

    private final MigrationContext context;

    public MigrationSource(MigrationContext context) {
        this.context = context;
    }

    /**
     * Runs the migration on the calling thread. {@code start}: when the application asked for it
     * ({@link System#nanoTime}), the origin of the report's times. {@code realtime}: whether this thread is real-time
     * ({@link io.socketlauncher.sys.RealTimeThreads#enter}); the drain then blocks where it would otherwise spin.
     */
    public TransferReport migrate(MovableSocket socket, Peer peer, long start, boolean realtime) throws TransferException {
        int fd = socket.fd();
        InetSocketAddress client, local;
        try {
            client = Libc.getpeername(fd);
            local = Libc.getsockname(fd);
        } catch (NativeException e) {
            throw new TransferException(Stage.PREPARE, true, "the socket has no peer: " + e.getMessage(), e);
        }
        long migration = ThreadLocalRandom.current().nextLong();
        // Named as this socket sees it: in full NAT its peer is the proxy's address, not the client's.
        FlowKey proxyFlow = new FlowKey(client, local);
        FlowTuple here = new FlowTuple(client, local);
        if (context.reclaiming(here)) {
            throw new TransferException(Stage.PREPARE, true, "an earlier migration of " + here + " was rolled back without the"
                    + " proxy's word: until it points the flow here again, the connection stays", null);
        }
        PeerLink link = context.link(peer);

        // 1. The target holds the flow. Until the redirect nothing of the flow reaches it, so a failure here changes nothing.
        PeerLink.Session session;
        ServerMessages.Holding holding;
        try {
            session = link.acquire();
        } catch (IOException e) {
            throw new TransferException(Stage.PREPARE, true, e.getMessage(), e);
        }
        byte[] prepare = ServerMessages.prepare(new ServerMessages.Prepare(migration, context.id, client, context.service, local));
        // The count starts while the target prepares its hold: through the agent it is an exchange of its own.
        SegmentCount count = SegmentCount.NONE;
        try {
            while (true) {
                try {
                    int request = session.request(MessageType.XFER_PREPARE, prepare);
                    if (!count.counting()) count = startCounting(fd, here);
                    holding = ServerMessages.decodeHolding(session.reply(request, MessageType.XFER_PREPARE, MessageType.HOLDING,
                            context.timeouts.prepare()));
                    if (holding.migration() != migration) {
                        throw new ProtocolException(ErrorCode.MALFORMED, "HOLDING for migration " + Long.toHexString(holding.migration())
                                + ", expected " + Long.toHexString(migration));
                    }
                    break;
                } catch (EOFException | SocketException | PeerLink.StaleChannelException e) {
                    if (!session.pooled) throw e;
                    // The pooled channel went stale while idle (the peer restarted, or closed it after its idle
                    // timeout): the request never arrived. Once more, on a new channel (not pooled: a second failure
                    // ends the migration). Marked failed, the stale one is not pooled again if the new one can't be
                    // opened.
                    session.fail();
                    session = link.open();
                }
            }
        } catch (PeerRefusedException e) {
            stopCountingQuietly(here, count.counting());
            link.release(session);
            throw new TransferException(Stage.PREPARE, true, e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            stopCountingQuietly(here, count.counting());
            link.release(session);
            context.abort(link, null, migration, Disposition.DISCARD, "no HOLDING: " + e.getMessage());
            throw new TransferException(Stage.PREPARE, true, e.getMessage(), e);
        }
        long prepared = System.nanoTime();

        try {
            // 2. The proxy is asked to re-point the flow; its answer is taken after the capture, which needs no more
            //    than the target's hold: from the forwarding on, whatever reaches this server goes on to the target.
            ProxyLink.PendingRedirect redirect;
            try {
                redirect = context.proxy.send(proxyFlow, peer.id());
            } catch (IllegalArgumentException | ProxyLink.NotSentException e) {
                stopCountingQuietly(here, count.counting());
                context.abort(link, session, migration, Disposition.DISCARD, "redirect not sent: " + e.getMessage());
                throw new TransferException(Stage.REDIRECT, true, "the proxy can't be asked: " + e.getMessage(), e);
            } catch (IOException | RuntimeException e) {
                stopCountingQuietly(here, count.counting());
                Rollback back = pointBackHere(proxyFlow, here, link, session, migration, true, "redirect unconfirmed: " + e.getMessage());
                throw new TransferException(Stage.REDIRECT, back.stayed(), "REDIRECT failed on its way to the proxy: "
                        + e.getMessage() + back.description, e);
            }

            // 3. Whatever still reaches this server goes on to the target; what is already in the stack lands in the socket.
            // 4. The state, with the socket silent in repair mode: nothing of the flow reaches it any more.
            long departing = System.nanoTime();
            TcpState state;
            byte[] blob;
            long drained;
            try {
                SocketRepair.Departure departure = context.depart(fd, here, holding.targetLocal().getAddress(), count.base(), realtime);
                state = departure.state();
                drained = Math.min(departing + departure.drainNanos(), System.nanoTime());
            } catch (DepartureException e) {
                settle(redirect, e);
                Rollback back = rollBackBeforeCapture(here, proxyFlow, link, session, migration, e);
                throw new TransferException(e.step() == DepartureException.Step.CAPTURE ? Stage.CAPTURE : Stage.DRAIN, back.stayed(),
                        e.getMessage() + back.description, e);
            } catch (RuntimeException e) {
                settle(redirect, e);
                Rollback back = rollBackBeforeCapture(here, proxyFlow, link, session, migration, e);
                throw new TransferException(Stage.CAPTURE, back.stayed(), e.getMessage() + back.description, e);
            }
            // Until this migration ends, the flow can't come back here: see MigrationContext.hold.
            context.departing(here);
            try {
                blob = new TransferBlob(state, socket.applicationState()).encode();
            } catch (RuntimeException e) {
                settle(redirect, e);
                Rollback back = rollBackAfterCapture(socket, state, here, proxyFlow, link, session, migration, true, e);
                throw new TransferException(Stage.CAPTURE, back.stayed(), e.getMessage() + back.description, e);
            }
            long captured = System.nanoTime();

            // 5. REDIRECTED: without it the connection stays here, since the target could only be reached through us.
            try {
                redirect.await();
            } catch (IllegalArgumentException | ControlException e) {
                rollBackAfterCapture(socket, state, here, proxyFlow, link, session, migration, false, e);
                throw new TransferException(Stage.REDIRECT, true, "the proxy refused: " + e.getMessage(), e);
            } catch (IOException | RuntimeException e) {
                Rollback back = rollBackAfterCapture(socket, state, here, proxyFlow, link, session, migration, true, e);
                throw new TransferException(Stage.REDIRECT, back.stayed(), "no REDIRECTED from the proxy: " + e.getMessage()
                        + back.description, e);
            }
            long redirected = System.nanoTime();

            // 6. XFER: the target restores, releases and confirms; then the source lets go of its socket.
            try {
                transfer(session, migration, blob);
            } catch (IOException | RuntimeException e) {
                boolean committed = false;
                if (!(e instanceof PeerRefusedException)) {
                    session.fail();
                    committed = askWhetherCommitted(link, migration, e);
                }
                if (!committed) {
                    Rollback back = rollBackAfterCapture(socket, state, here, proxyFlow, link, session, migration, true, e);
                    throw new TransferException(Stage.XFER, back.stayed(), e.getMessage() + back.description, e);
                }
            }
            Libc.closeQuietly(fd); // in repair mode: no FIN, no RST
            context.stopForwardingLater(here);
            long transferred = System.nanoTime();
            return new TransferReport(peer.id(), prepared - start, drained - start, captured - start, redirected - start,
                    transferred - start);
        } finally {
            context.departed(here);
            link.release(session);
        }
    }

    /**
     * Takes the answer to a REDIRECT whose migration is being rolled back, so that pointing the flow back here can't
     * overtake it at the proxy (the two travel on different connections).
     */
    private static void settle(ProxyLink.PendingRedirect redirect, Exception cause) {
        try {
            redirect.await();
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    private void transfer(PeerLink.Session session, long migration, byte[] blob) throws IOException {
        int offset = 0;
        int chunk = ServerMessages.MAX_CHUNK;
        while (blob.length - offset > chunk) {
            session.send(MessageType.XFER_PART, ServerMessages.part(migration, blob, offset, chunk));
            offset += chunk;
        }
        byte[] last = ServerMessages.last(migration, blob.length, blob, offset, blob.length - offset);
        long id = ServerMessages.decodeMigration("XFERED",
                session.call(MessageType.XFER, last, MessageType.XFERED, context.timeouts.transfer()));
        if (id != migration) throw new IOException("XFERED for migration " + id + ", expected " + migration);
    }

    /**
     * XFER's outcome is unknown (no reply in time, connection lost): ask on a fresh channel. The target answers
     * that the connection is already its own, or stops the migration (keeping its hold until we discard it).
     */
    private boolean askWhetherCommitted(PeerLink link, long migration, Exception cause) {
        try {
            PeerLink.Session s = link.open();
            try {
                ServerMessages.Aborted a = ServerMessages.decodeAborted(s.call(MessageType.XFER_ABORT,
                        ServerMessages.abort(new ServerMessages.Abort(migration, Disposition.KEEP, "no XFERED: " + cause.getMessage())),
                        MessageType.XFER_ABORTED, context.timeouts.prepare()));
                return a.committed();
            } finally {
                link.release(s);
            }
        } catch (IOException | RuntimeException e) {
            // The target is gone: whatever it had is lost with it, and the source still has the socket.
            LOG.log(System.Logger.Level.WARNING, "migration " + Long.toHexString(migration) + ": target " + link.peer().id()
                    + " unreachable after XFER (" + e.getMessage() + "); keeping the connection here");
            return false;
        }
    }

    /** Whether the flow's segments are counted on their way to the socket, and tcpi_segs_in as counting began (-1: unknown). */
    private record SegmentCount(boolean counting, long base) {
        static final SegmentCount NONE = new SegmentCount(false, -1);
    }

    /**
     * From here the source's own hold program counts the flow's segments on their way to the socket: the drain then
     * knows exactly how many to wait for. The counter and tcpi_segs_in must start together, which only holds if no
     * segment is between the program and the socket as counting starts (the stack hands a whole batch through the
     * program before any of it reaches TCP): a flow that moved meanwhile is busy, and its drain waits for quiet instead.
     */
    private SegmentCount startCounting(int fd, FlowTuple here) {
        try {
            long before = Drain.segmentsIn(fd);
            if (!context.count(here)) return SegmentCount.NONE;
            long after = Drain.segmentsIn(fd);
            return new SegmentCount(true, after == before ? after : -1);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "no segment count for " + here + " (" + e + "): the drain waits for quiet");
            return SegmentCount.NONE;
        }
    }

    private void stopCountingQuietly(FlowTuple here, boolean counting) {
        if (!counting) return;
        try {
            context.stopForwarding(here);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot stop counting the segments of " + here + ": " + e.getMessage());
        }
    }

    private Rollback rollBackBeforeCapture(FlowTuple here, FlowKey proxyFlow, PeerLink link, PeerLink.Session session,
                                           long migration, Exception cause) {
        try {
            context.stopForwarding(here);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
        return pointBackHere(proxyFlow, here, link, session, migration, true, cause.getMessage());
    }

    /**
     * The socket resumes here (or is restored from the state if it can't), the flow points back here, the hold ends.
     * {@code proxyMayPointThere}: false once the proxy has refused the REDIRECT (it left the flow where it was).
     */
    private Rollback rollBackAfterCapture(MovableSocket socket, TcpState state, FlowTuple here, FlowKey proxyFlow,
                                          PeerLink link, PeerLink.Session session, long migration, boolean proxyMayPointThere,
                                          Exception cause) {
        try {
            context.repair.resume(socket.fd());
        } catch (IOException e) {
            try {
                Libc.closeQuietly(socket.fd());
                socket.replaceFd(context.repair.restoreForRelease(state));
            } catch (IOException | RuntimeException restoreFailure) {
                cause.addSuppressed(restoreFailure);
            }
        }
        try {
            context.stopForwarding(here);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
        return pointBackHere(proxyFlow, here, link, session, migration, proxyMayPointThere, cause.getMessage());
    }

    /** Where a rolled-back migration leaves the flow, which this server serves again. */
    private enum Rollback {
        POINTED_BACK("; the flow points here again"),
        HANDED_BACK("; the proxy could not confirm that the flow points here again, so the target forwards it here while"
                + " this server keeps asking the proxy"),
        LOST("; neither could the proxy be told to point the flow back here nor the target to forward it here");

        final String description;

        Rollback(String description) {
            this.description = description;
        }

        /** Whether the client's segments reach this server's socket, whichever way the proxy points the flow. */
        boolean stayed() {
            return this != LOST;
        }
    }

    /**
     * Points the flow back here and ends the target's hold. If the proxy does not confirm within the rollback time, it
     * may still point the flow at the target ({@code proxyMayPointThere}): the target then forwards the flow here instead
     * of holding it (a hand-back), and this server keeps asking the proxy in the background
     * ({@link MigrationContext#reclaim}), as it does when the target can't be told either.
     */
    private Rollback pointBackHere(FlowKey proxyFlow, FlowTuple here, PeerLink link, PeerLink.Session session, long migration,
                                   boolean proxyMayPointThere, String reason) {
        try {
            context.proxy.redirectUntilConfirmed(proxyFlow, context.id, context.timeouts.rollback());
            context.abort(link, session, migration, Disposition.DISCARD, reason);
            return Rollback.POINTED_BACK;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "cannot point " + proxyFlow + " back at " + context.id + ": " + e.getMessage()
                    + (proxyMayPointThere ? "; asking " + link.peer().id() + " to forward it here" : ""));
        }
        if (!proxyMayPointThere) {
            context.abort(link, session, migration, Disposition.DISCARD, reason);
            return Rollback.POINTED_BACK;
        }
        boolean handedBack = context.abort(link, session, migration, Disposition.HAND_BACK, reason);
        // Told or not, the target hears the end: a hand-back whose answer was lost, or a hold it kept, ends with it.
        context.reclaim(proxyFlow, here, link.peer(), migration);
        return handedBack ? Rollback.HANDED_BACK : Rollback.LOST;
    }
}
