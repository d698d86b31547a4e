package io.socketlauncher.proxy.control;

/** One authenticated frame as received: its MAC and sequence number were checked before it was made. */
public record Frame(int type, long sequence, int requestId, byte[] payload) {
    /** The message type, or a protocol error naming the unknown code. */
    public MessageType messageType() throws ProtocolException {
        MessageType t = MessageType.of(type);
        if (t == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_TYPE, requestId,
                    String.format("unknown message type 0x%04x in protocol version %d", type, Wire.VERSION));
        }
        return t;
    }
}
