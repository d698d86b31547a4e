package io.socketlauncher.proxy.control;

/**
 * The fixed numbers of the control protocol's framing, version 1. The layout is specified in
 * docs/control-protocol.md; every length a peer can send is bounded by one of these.
 */
public final class Wire {
    /** "SLCP": Socket Launcher Control Protocol. */
    public static final int MAGIC = 0x534C4350;
    public static final int VERSION = 1;
    /** magic u32, version u8, flags u8, type u16, sequence u64, request id u32, payload length u32. */
    public static final int HEADER_BYTES = 24;
    /** HMAC-SHA256, untruncated. */
    public static final int MAC_BYTES = 32;
    public static final int MAX_PAYLOAD = 64 * 1024;
    public static final int NONCE_BYTES = 32;
    /** Shorter shared keys are refused: 128 bits is the least HMAC-SHA256 should be keyed with. */
    public static final int MIN_KEY_BYTES = 16;
    public static final int MAX_KEY_BYTES = 1024;
    public static final int MAX_BACKEND_ID_BYTES = 64;
    public static final int MAX_ERROR_MESSAGE_BYTES = 1024;
    /**
     * Before authentication a frame is AUTH_INIT or AUTH_CHALLENGE (a nonce) or the ERROR that refuses the handshake
     * (code u16, message length u16, message): nothing larger is read from a peer not yet known.
     */
    public static final int MAX_HANDSHAKE_PAYLOAD = 4 + MAX_ERROR_MESSAGE_BYTES;
    /** Chosen so that a reply of this many flows at their largest encoding still fits MAX_PAYLOAD. */
    public static final int MAX_FLOWS_PER_REPLY = 500;
    /** Same bound for backends. */
    public static final int MAX_BACKENDS_PER_REPLY = 400;
    /** Servers one PEER_LIST frame carries at most (largest entry: 64-byte id, IPv6 agent address); more take more frames. */
    public static final int MAX_PEERS_PER_MESSAGE = 500;
    /** The control port the CLI and the proxy use unless told otherwise. */
    public static final int DEFAULT_PORT = 7390;

    private Wire() {
    }

    static void checkKey(byte[] key) {
        if (key == null || key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("control key must be " + MIN_KEY_BYTES + " to " + MAX_KEY_BYTES
                    + " bytes, got " + (key == null ? "none" : key.length));
        }
    }
}
