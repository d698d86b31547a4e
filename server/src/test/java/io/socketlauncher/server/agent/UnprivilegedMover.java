package io.socketlauncher.server.agent;

import io.socketlauncher.sys.Errno;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;
import io.socketlauncher.testbed.NumberedStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * Run by {@link RepairAgentTest} as an unprivileged process: connects to the test's peer, shows that it
 * may not use TCP_REPAIR itself, then moves its connection (dump, silent close, restore) through the
 * agent while the peer's bytes wait unread in its receive queue. Prints one line per step; exits 0 only
 * if every byte checked out.
 */
public final class UnprivilegedMover {
    static final int CHUNK = 1000;

    public static void main(String[] args) throws Exception {
        Path agent = Path.of(args[0]);
        int fd = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        Libc.connect(fd, new InetSocketAddress(InetAddress.getByName(args[1]), Integer.parseInt(args[2])));
        try {
            Libc.setsockopt(fd, Libc.SOL_TCP, Libc.TCP_REPAIR, Libc.TCP_REPAIR_ON);
            System.out.println("TCP_REPAIR allowed");
            System.exit(2);
        } catch (NativeException e) {
            System.out.println("TCP_REPAIR " + Errno.name(e.errno()));
        }

        Libc.sendFully(fd, NumberedStream.pattern(0, CHUNK, NumberedStream.CLIENT_TO_SERVER), 0, CHUNK);
        NumberedStream.expect(fd, 0, CHUNK / 2, NumberedStream.SERVER_TO_CLIENT);
        // Nothing may be in flight either way while the socket is dumped: all our bytes acknowledged,
        // all the peer's bytes here (the peer then waits for us).
        while (Libc.ioctlInt(fd, Libc.SIOCOUTQ) > 0 || Libc.ioctlInt(fd, Libc.SIOCINQ) < CHUNK / 2) Thread.sleep(1);

        try (RepairAgentClient client = RepairAgentClient.connect(agent)) {
            byte[] state = client.dump(fd);
            Libc.close(fd);
            int moved = client.restore(state);
            System.out.println("MOVED " + state.length + " state bytes");
            NumberedStream.expect(moved, CHUNK / 2, CHUNK / 2, NumberedStream.SERVER_TO_CLIENT);
            Libc.sendFully(moved, NumberedStream.pattern(CHUNK, CHUNK, NumberedStream.CLIENT_TO_SERVER), 0, CHUNK);
            NumberedStream.expect(moved, CHUNK, CHUNK, NumberedStream.SERVER_TO_CLIENT);
            byte[] end = new byte[1];
            if (Libc.recv(moved, end, 0, 1, 0) != 0) throw new IllegalStateException("expected the end of the stream");
            Libc.close(moved);
        }
        System.out.println("OK");
    }
}
