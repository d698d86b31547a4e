package io.socketlauncher.server.migration;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.repair.DataDuringDumpException;
import io.socketlauncher.repair.TcpRepair;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.server.hold.DataPlane;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import java.io.IOException;
import java.net.InetAddress;

/**
 * The TCP_REPAIR work of a migration, which needs CAP_NET_ADMIN: {@link #LOCAL} does it in this process, the
 * privileged agent ({@code io.socketlauncher.server.agent.AgentPrivileges}) for a process without it.
 */
public interface SocketRepair {
    /** Puts the socket into repair mode (silent from now on) and reads its state. */
    TcpState capture(int fd) throws IOException;

    /** Undoes {@link #capture}: the socket goes on here. */
    void resume(int fd) throws IOException;

    /**
     * Recreates the connection in the server's namespace, leaving repair mode with a window probe (it tells the
     * client at once where the receiving side stands) and with room for the burst of held segments; returns the fd.
     */
    int restoreForRelease(TcpState state) throws IOException;

    /**
     * A migration's target: {@link #restoreForRelease}, then {@code plane} releases the flow's held segments into the
     * new socket. If either fails, the new socket is dropped silently (no FIN, no RST) and the exception says why.
     */
    default int restoreAndRelease(TcpState state, DataPlane plane, FlowTuple flow) throws IOException {
        int fd = restoreForRelease(state);
        try {
            plane.release(flow);
            return fd;
        } catch (IOException | RuntimeException e) {
            silentClose(fd);
            throw e;
        }
    }

    /** What a {@link #depart} found: the socket's state, and how long the forwarding and the drain took before it. */
    record Departure(TcpState state, long drainNanos) {
    }

    /**
     * A migration's source, once the target holds the flow: from now on {@code plane} sends the flow's packets on to
     * {@code target}; what is already on its way through the stack lands in the socket ({@link Drain}: until
     * tcpi_segs_in reaches {@code segmentsAtCount} plus the segments the plane counted since, or, uncounted
     * ({@code segmentsAtCount} -1), until {@code quietNanos} without one; at most {@code maxNanos}); then
     * {@link #capture}. One call, so that through the privileged agent it is one exchange, not two.
     */
    default Departure depart(int fd, DataPlane plane, FlowTuple flow, InetAddress target, long segmentsAtCount,
                             long quietNanos, long maxNanos, boolean realtime) throws DepartureException {
        long start = System.nanoTime();
        long counted;
        try {
            counted = plane.forward(flow, target);
        } catch (IOException | RuntimeException e) {
            throw new DepartureException(DepartureException.Step.FORWARD, "cannot forward to the target: " + e.getMessage(), e);
        }
        long expected = segmentsAtCount >= 0 && counted >= 0 ? segmentsAtCount + counted : -1;
        // A capture may meet a segment still on its way into the socket when the drain ended (its settle is a few
        // microseconds, and a vCPU the host preempts in the middle of a softirq takes longer). The capture refuses the
        // socket and takes it out of repair mode, and the forwarding is in place: once the socket has been quiet for
        // quietNanos nothing more can reach it, so drain again, uncounted, and capture once more. Rolling back the
        // whole migration instead cost one demo run one move in 56,693.
        DataDuringDumpException late = null;
        while (true) {
            long drained;
            try {
                Drain.await(fd, expected, quietNanos, maxNanos, realtime);
                drained = System.nanoTime();
            } catch (IOException | RuntimeException e) {
                throw failed(DepartureException.Step.DRAIN, "", e, late);
            }
            try {
                return new Departure(capture(fd), drained - start);
            } catch (DataDuringDumpException e) {
                if (late != null) throw failed(DepartureException.Step.CAPTURE, "twice: ", e, late);
                late = e;
                expected = -1;
            } catch (IOException | RuntimeException e) {
                throw failed(DepartureException.Step.CAPTURE, late != null ? "twice: " : "", e, late);
            }
        }
    }

    private static DepartureException failed(DepartureException.Step step, String prefix, Exception e, DataDuringDumpException late) {
        if (late != null) e.addSuppressed(late);
        return new DepartureException(step, prefix + e.getMessage(), e);
    }

    /** Drops a socket without FIN or RST (a restore that can't serve). */
    void silentClose(int fd);

    SocketRepair LOCAL = new SocketRepair() {
        @Override
        public TcpState capture(int fd) throws NativeException {
            return TcpRepair.capture(fd);
        }

        @Override
        public void resume(int fd) throws NativeException {
            TcpRepair.resume(fd);
        }

        @Override
        public int restoreForRelease(TcpState state) throws NativeException {
            int fd = TcpRepair.restore(state, true);
            try {
                makeRoomForTheHeldBurst(fd);
                return fd;
            } catch (NativeException | RuntimeException e) {
                Libc.closeQuietly(fd);
                throw e;
            }
        }

        @Override
        public void silentClose(int fd) {
            try {
                Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_REPAIR, Libc.TCP_REPAIR_ON);
            } catch (NativeException ignored) {
                // closing normally then; the proxy drops this server's segments of a flow that points elsewhere
            }
            Libc.closeQuietly(fd);
        }
    };

    /**
     * The source advertised a window by its own memory accounting; the held segments come back through the TUN,
     * whose buffers cost the receive queue more per byte, all at once, before the application reads. With the
     * same buffer the kernel drops some of them (TCPRcvQDrop) and the client has to send them again.
     */
    static void makeRoomForTheHeldBurst(int fd) throws NativeException {
        int current = Libc.getsockoptInt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF); // the kernel's (doubled) figure
        // Doubled again by the kernel, but bounded: the state carries the buffer on, so without a bound it doubled at
        // every hop (a connection moved ten times had a thousandfold buffer, and as much queue to copy per move).
        if (current < MAX_RECEIVE_BUFFER) Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUFFORCE, Math.min(current, MAX_RECEIVE_BUFFER / 2));
    }

    /** Bytes (as the kernel reports SO_RCVBUF) beyond which a restored socket's receive buffer is not grown. */
    int MAX_RECEIVE_BUFFER = 8 << 20;
}
