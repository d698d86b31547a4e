package io.socketlauncher.repair;

import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Objects;

/**
 * Everything needed to recreate one TCP connection elsewhere: captured by {@link TcpRepair#capture},
 * carried as {@link TcpStateCodec} bytes, restored by {@link TcpRepair#restore}.
 *
 * <p>Sequence numbers name the first byte of each queue: {@code sendSeq} is the oldest unacknowledged
 * byte (snd_una), {@code receiveSeq} the oldest byte the application has not read. FINs are not part of
 * the queues; {@link #state()} says where they are.
 *
 * @param sendQueue   sent-but-unacknowledged bytes followed by {@code unsentLength} never-sent bytes
 * @param receiveQueue bytes received and acknowledged but not yet read by the application
 */
public record TcpState(InetSocketAddress local, InetSocketAddress remote, TcpConnectionState state,
                       int sendSeq, int receiveSeq, byte[] sendQueue, int unsentLength, byte[] receiveQueue,
                       TcpOptions options, RepairWindow window, SocketSettings settings) {
    public TcpState {
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(sendQueue, "sendQueue");
        Objects.requireNonNull(receiveQueue, "receiveQueue");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(window, "window");
        Objects.requireNonNull(settings, "settings");
        if (local.getAddress().getClass() != remote.getAddress().getClass()) {
            throw new IllegalArgumentException("address families differ: " + local + " / " + remote);
        }
        if (unsentLength < 0 || unsentLength > sendQueue.length) {
            throw new IllegalArgumentException("unsent length " + unsentLength + " outside send queue of " + sendQueue.length);
        }
    }

    /** Bytes of the send queue the peer has seen (and may acknowledge). */
    public int sentLength() {
        return sendQueue.length - unsentLength;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TcpState t && local.equals(t.local) && remote.equals(t.remote) && state == t.state
                && sendSeq == t.sendSeq && receiveSeq == t.receiveSeq && unsentLength == t.unsentLength
                && Arrays.equals(sendQueue, t.sendQueue) && Arrays.equals(receiveQueue, t.receiveQueue)
                && options.equals(t.options) && window.equals(t.window) && settings.equals(t.settings);
    }

    @Override
    public int hashCode() {
        return Objects.hash(local, remote, state, sendSeq, receiveSeq, unsentLength, Arrays.hashCode(sendQueue),
                Arrays.hashCode(receiveQueue), options, window, settings);
    }

    @Override
    public String toString() {
        return "TcpState[" + local + " -> " + remote + " " + state + " snd " + Integer.toUnsignedString(sendSeq)
                + " (" + sendQueue.length + " bytes, " + unsentLength + " unsent) rcv " + Integer.toUnsignedString(receiveSeq)
                + " (" + receiveQueue.length + " bytes) " + options + " " + window + " " + settings + "]";
    }
}
