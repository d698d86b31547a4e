package io.socketlauncher.proxy.control;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads one message's payload field by field. Every field is bounds-checked against what is left, so a lying
 * length yields a MALFORMED error naming the message and field, never an oversized allocation.
 */
final class PayloadReader {
    private final ByteBuffer buffer;
    private final String message;

    PayloadReader(String message, byte[] payload) {
        this.buffer = ByteBuffer.wrap(payload);
        this.message = message;
    }

    private void need(int bytes, String field) throws ProtocolException {
        if (buffer.remaining() < bytes) {
            throw malformed(field + " needs " + bytes + " bytes, " + buffer.remaining() + " left");
        }
    }

    ProtocolException malformed(String detail) {
        return new ProtocolException(ErrorCode.MALFORMED, message + " payload: " + detail);
    }

    int u8(String field) throws ProtocolException {
        need(1, field);
        return buffer.get() & 0xff;
    }

    int u16(String field) throws ProtocolException {
        need(2, field);
        return buffer.getShort() & 0xffff;
    }

    long u32(String field) throws ProtocolException {
        need(4, field);
        return buffer.getInt() & 0xffffffffL;
    }

    int i32(String field) throws ProtocolException {
        need(4, field);
        return buffer.getInt();
    }

    long i64(String field) throws ProtocolException {
        need(8, field);
        return buffer.getLong();
    }

    byte[] bytes(int length, String field) throws ProtocolException {
        need(length, field);
        byte[] b = new byte[length];
        buffer.get(b);
        return b;
    }

    /** A UTF-8 string with a u8 (short) or u16 length prefix, at most maxBytes long. */
    String string(String field, boolean shortLength, int minBytes, int maxBytes) throws ProtocolException {
        int length = shortLength ? u8(field + " length") : u16(field + " length");
        if (length < minBytes || length > maxBytes) {
            throw malformed(field + " length " + length + " is outside " + minBytes + ".." + maxBytes);
        }
        need(length, field);
        ByteBuffer slice = buffer.slice(buffer.position(), length);
        buffer.position(buffer.position() + length);
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(slice);
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw malformed(field + " is not valid UTF-8");
        }
    }

    String backendId(String field) throws ProtocolException {
        String id = string(field, true, 1, Wire.MAX_BACKEND_ID_BYTES);
        String problem = BackendIds.problem(id);
        if (problem != null) {
            throw malformed(field + " " + problem);
        }
        return id;
    }

    /** family u8 (4 or 6), the address (4 or 16 bytes), port u16. */
    InetSocketAddress address(String field) throws ProtocolException {
        int family = u8(field + " family");
        int length = switch (family) {
            case 4 -> 4;
            case 6 -> 16;
            default -> throw malformed(field + " family " + family + "; expected 4 or 6");
        };
        byte[] raw = bytes(length, field + " address");
        int port = u16(field + " port");
        try {
            return new InetSocketAddress(InetAddress.getByAddress(raw), port);
        } catch (UnknownHostException e) {
            throw new AssertionError("a 4- or 16-byte address is always valid", e);
        }
    }

    FlowKey flowKey(String field) throws ProtocolException {
        return new FlowKey(address(field + " client"), address(field + " vip"));
    }

    /** Trailing bytes mean the sender and receiver disagree about the layout: refuse rather than guess. */
    void end() throws ProtocolException {
        if (buffer.hasRemaining()) {
            throw malformed(buffer.remaining() + " unexpected trailing bytes");
        }
    }
}
