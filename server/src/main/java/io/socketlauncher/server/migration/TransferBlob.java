package io.socketlauncher.server.migration;

import io.socketlauncher.repair.MalformedStateException;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.repair.TcpStateCodec;
import java.nio.ByteBuffer;

/**
 * What an XFER carries: the TCP state ({@link TcpStateCodec} bytes) and the application's blob.
 *
 * <pre>magic "SLXB" u32 | state length u32 | state | application state length u32 | application state</pre>
 *
 * Both lengths are checked against the bytes present and their bounds before anything is allocated.
 */
public record TransferBlob(TcpState state, byte[] applicationState) {
    public static final int MAGIC = 0x534C5842; // "SLXB"
    /** Per-connection application state is a selected database or a session, not a payload. */
    public static final int MAX_APPLICATION_STATE = 1 << 20;

    public byte[] encode() {
        if (applicationState.length > MAX_APPLICATION_STATE) {
            throw new IllegalArgumentException("application state of " + applicationState.length + " bytes exceeds "
                    + MAX_APPLICATION_STATE);
        }
        int stateLength = TcpStateCodec.encodedLength(state);
        ByteBuffer b = ByteBuffer.allocate(12 + stateLength + applicationState.length);
        b.putInt(MAGIC).putInt(stateLength);
        TcpStateCodec.encode(state, b);
        b.putInt(applicationState.length).put(applicationState);
        return b.array();
    }

    public static TransferBlob decode(byte[] in) throws MalformedStateException {
        ByteBuffer b = ByteBuffer.wrap(in);
        if (b.remaining() < 8) throw new MalformedStateException("transfer of " + in.length + " bytes is shorter than its header", 0);
        int magic = b.getInt();
        if (magic != MAGIC) throw new MalformedStateException(String.format("bad transfer magic 0x%08x", magic), 0);
        int stateLength = b.getInt();
        if (stateLength < 0 || stateLength > b.remaining() - 4) {
            throw new MalformedStateException("state length " + Integer.toUnsignedString(stateLength) + " but "
                    + b.remaining() + " bytes follow", 4);
        }
        TcpState state = TcpStateCodec.decode(in, 8, stateLength);
        b.position(8 + stateLength);
        int appLength = b.getInt();
        if (appLength < 0 || appLength > MAX_APPLICATION_STATE || appLength != b.remaining()) {
            throw new MalformedStateException("application state length " + Integer.toUnsignedString(appLength)
                    + " but " + b.remaining() + " bytes follow (at most " + MAX_APPLICATION_STATE + ")", 8 + stateLength);
        }
        byte[] app = new byte[appLength];
        b.get(app);
        return new TransferBlob(state, app);
    }
}
