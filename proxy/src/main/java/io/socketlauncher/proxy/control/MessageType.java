package io.socketlauncher.proxy.control;

import java.util.HashMap;
import java.util.Map;

/**
 * Every message type of the control protocol. The 16-bit type space is partitioned so that later protocols
 * (the server protocol of live migration) add types without touching the framing:
 * <ul>
 *   <li>{@code 0x0001-0x00FF} session: handshake, errors, keep-alive, generic acknowledgement;</li>
 *   <li>{@code 0x0100-0x01FF} proxy control: flows, backends, redirect;</li>
 *   <li>{@code 0x0200-0x02FF} server protocol: discovery (HELLO, PEER_LIST, PEER_JOIN, PEER_LEAVE) and migration (XFER ...);</li>
 *   <li>{@code 0xF000-0xFFFF} private experiments, never assigned here.</li>
 * </ul>
 * A peer that receives a type it does not know replies {@link ErrorCode#UNKNOWN_TYPE} and closes.
 */
public enum MessageType {
    AUTH_INIT(0x0001),
    AUTH_CHALLENGE(0x0002),
    ERROR(0x0003),
    PING(0x0004),
    PONG(0x0005),
    OK(0x0006),

    FLOWS(0x0101),
    FLOW_LIST(0x0102),
    BACKENDS(0x0103),
    BACKEND_LIST(0x0104),
    REDIRECT(0x0105),
    REDIRECTED(0x0106),
    ADD_BACKEND(0x0107),
    REMOVE_BACKEND(0x0108),
    SET_WEIGHT(0x0109),

    // Server protocol: discovery through the proxy (docs/control-protocol.md), 0x0201-0x020F.
    HELLO(0x0201),
    PEER_LIST(0x0202),
    PEER_JOIN(0x0203),
    PEER_LEAVE(0x0204),

    // Server protocol: live migration between servers (docs/migration.md), 0x0210-0x021F.
    XFER_PREPARE(0x0210),
    HOLDING(0x0211),
    XFER_PART(0x0212),
    XFER(0x0213),
    XFERED(0x0214),
    XFER_ABORT(0x0215),
    XFER_ABORTED(0x0216);

    private static final Map<Integer, MessageType> BY_CODE = new HashMap<>();

    static {
        for (MessageType t : values()) {
            BY_CODE.put(t.code, t);
        }
    }

    private final int code;

    MessageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type with this code, or null if this version of the protocol has none. */
    public static MessageType of(int code) {
        return BY_CODE.get(code);
    }

    /** A type's name for error messages, also for codes no type has. */
    public static String describe(int code) {
        MessageType t = of(code);
        return t != null ? t.name() : String.format("type 0x%04x", code);
    }
}
