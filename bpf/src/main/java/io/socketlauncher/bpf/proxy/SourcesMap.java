package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.net.InetAddress;
import java.nio.ByteBuffer;

/**
 * The {@code sources} set: full-NAT source addresses that services name in their configuration. A packet arriving
 * with one of them as its source is a backend sending a segment on to another backend (a live migration's
 * forwarding), and the data plane forwards it, where the kernel would drop it for carrying a local source address.
 */
public final class SourcesMap {
    /** struct proxy_source_key: the address as four words, then the family. */
    static final int KEY_SIZE = 20;

    private final BpfMap map;

    SourcesMap(BpfMap map) {
        this.map = map;
    }

    public void add(InetAddress source) throws NativeException {
        map.update(key(source), BackendsMap.key(1), BpfMap.ANY);
    }

    static byte[] key(InetAddress source) {
        byte[] out = new byte[KEY_SIZE];
        ByteBuffer b = Wire.buffer(out);
        Wire.putAddress(b, source);
        b.putInt(Wire.family(source));
        return out;
    }
}
