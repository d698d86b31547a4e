package io.socketlauncher.repair;

import static org.assertj.core.api.Assertions.fail;

import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;

/** The kernel TCP state of a socket, and waiting for one. */
final class TcpInfo {
    private TcpInfo() {}

    static int state(int fd) throws NativeException {
        return Libc.getsockopt(fd, Libc.SOL_TCP, Libc.TCP_INFO, 8)[0] & 0xff;
    }

    static void awaitState(int fd, TcpConnectionState expected) throws Exception {
        for (int i = 0; i < 500; i++) {
            if (state(fd) == expected.kernelValue()) return;
            Thread.sleep(10);
        }
        fail("socket did not reach " + expected + ", it is in kernel state " + state(fd));
    }

    static void awaitInq(int fd, int bytes) throws Exception {
        for (int i = 0; i < 500; i++) {
            if (Libc.ioctlInt(fd, Libc.SIOCINQ) >= bytes) return;
            Thread.sleep(10);
        }
        fail("receive queue did not reach " + bytes + " bytes, it holds " + Libc.ioctlInt(fd, Libc.SIOCINQ));
    }
}
