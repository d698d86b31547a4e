package io.socketlauncher.proxy.control;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/** Builds one message's payload; the layouts mirror {@link PayloadReader}. */
final class PayloadWriter {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
    private final DataOutputStream out = new DataOutputStream(bytes);

    PayloadWriter u8(int v) {
        return write(() -> out.writeByte(v));
    }

    PayloadWriter u16(int v) {
        return write(() -> out.writeShort(v));
    }

    PayloadWriter i32(int v) {
        return write(() -> out.writeInt(v));
    }

    PayloadWriter i64(long v) {
        return write(() -> out.writeLong(v));
    }

    PayloadWriter raw(byte[] b) {
        return write(() -> out.write(b));
    }

    PayloadWriter string(String s, boolean shortLength, int maxBytes) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > maxBytes) {
            throw new IllegalArgumentException("string of " + b.length + " bytes exceeds " + maxBytes + ": " + s);
        }
        return write(() -> {
            if (shortLength) {
                out.writeByte(b.length);
            } else {
                out.writeShort(b.length);
            }
            out.write(b);
        });
    }

    PayloadWriter backendId(String id) {
        String problem = BackendIds.problem(id);
        if (problem != null) {
            throw new IllegalArgumentException("backend id " + problem);
        }
        return string(id, true, Wire.MAX_BACKEND_ID_BYTES);
    }

    PayloadWriter address(InetSocketAddress a) {
        if (a.isUnresolved()) {
            throw new IllegalArgumentException("address " + a + " is unresolved; the protocol carries IP literals");
        }
        byte[] ip = a.getAddress().getAddress();
        u8(a.getAddress() instanceof Inet4Address ? 4 : 6);
        raw(ip);
        return u16(a.getPort());
    }

    PayloadWriter flowKey(FlowKey k) {
        address(k.client());
        return address(k.vip());
    }

    byte[] toByteArray() {
        byte[] b = bytes.toByteArray();
        if (b.length > Wire.MAX_PAYLOAD) {
            throw new IllegalStateException("payload of " + b.length + " bytes exceeds " + Wire.MAX_PAYLOAD);
        }
        return b;
    }

    private interface Write {
        void run() throws IOException;
    }

    private PayloadWriter write(Write w) {
        try {
            w.run();
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return this;
    }
}
