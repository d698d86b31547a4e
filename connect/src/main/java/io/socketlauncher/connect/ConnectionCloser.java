package io.socketlauncher.connect;

import io.socketlauncher.bpf.connect.ConnectProgram;
import io.socketlauncher.sys.BpfIterator;
import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.NetworkNamespace;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Closes the TCP connections the hooks balanced to one real server: a BPF socket iterator, run in the
 * service's namespace, destroys (bpf_sock_destroy, kernel 6.5+) exactly the sockets whose connect-time
 * record names that real, and no connection that reached the same address by other means. The
 * applications see ECONNABORTED, the server an RST.
 */
final class ConnectionCloser {
    private ConnectionCloser() {
    }

    static int close(Path pinDir, Service service, int realId) throws IOException {
        if (service.protocol() != Protocol.TCP) return 0;
        try (BpfObject object = ConnectProgram.openCloser()) {
            object.map(ConnectProgram.SOCKETS).setPinPath(pinDir.resolve(ConnectProgram.SOCKETS).toString());
            object.load();
            BpfMap control = object.map(ConnectProgram.CLOSE_CONTROL);
            control.update(u32(0), u32(realId), BpfMap.ANY);
            if (service.netns().isEmpty()) {
                BpfIterator.run(object.program(ConnectProgram.CLOSE_PROGRAM));
            } else {
                try {
                    NetworkNamespace.named(service.netns()).call(() -> BpfIterator.run(object.program(ConnectProgram.CLOSE_PROGRAM)));
                } catch (IOException | RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IOException("cannot close connections in network namespace " + service.netns(), e);
                }
            }
            byte[] closed = new byte[4];
            control.lookup(u32(1), closed);
            return ByteBuffer.wrap(closed).order(ByteOrder.nativeOrder()).getInt();
        }
    }

    private static byte[] u32(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array();
    }
}
