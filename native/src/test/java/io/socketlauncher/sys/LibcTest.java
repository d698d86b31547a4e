package io.socketlauncher.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LibcTest {
    @Test
    void loopbackConnectionCarriesBytesBothWays() throws Exception {
        int listener = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        int client = -1, server = -1;
        try {
            Libc.bind(listener, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Libc.listen(listener, 8);
            InetSocketAddress bound = Libc.getsockname(listener);
            assertThat(bound.getPort()).isPositive();
            client = Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
            Libc.connect(client, bound);
            server = Libc.accept(listener, Libc.SOCK_CLOEXEC);
            assertThat(Libc.getpeername(client)).isEqualTo(bound);
            assertThat(Libc.getpeername(server)).isEqualTo(Libc.getsockname(client));

            byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
            Libc.sendFully(client, hello, 0, hello.length);
            byte[] got = new byte[16];
            int n = Libc.recv(server, got, 0, got.length, 0);
            assertThat(new String(got, 0, n, StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThat(Libc.recv(server, got, 0, got.length, Libc.MSG_DONTWAIT)).isEqualTo(-1);

            Libc.setsockopt(server, Libc.SOL_TCP, Libc.TCP_NODELAY, 1);
            assertThat(Libc.getsockoptInt(server, Libc.SOL_TCP, Libc.TCP_NODELAY)).isEqualTo(1);
            assertThat(Libc.getsockopt(server, Libc.SOL_TCP, Libc.TCP_INFO, 512).length).isGreaterThan(100);
            assertThat(Libc.ioctlInt(server, Libc.SIOCINQ)).isZero();
            Libc.shutdown(client, Libc.SHUT_WR);
            assertThat(Libc.recv(server, got, 0, got.length, 0)).isZero();
        } finally {
            Libc.closeQuietly(client);
            Libc.closeQuietly(server);
            Libc.closeQuietly(listener);
        }
    }

    @Test
    void failedCallNamesTheCallAndErrno() {
        assertThatThrownBy(() -> Libc.setsockopt(987654, Libc.SOL_TCP, Libc.TCP_NODELAY, 1))
                .isInstanceOf(NativeException.class)
                .hasMessage("setsockopt(TCP_NODELAY=1): EBADF (Bad file descriptor)")
                .satisfies(e -> assertThat(((NativeException) e).errno()).isEqualTo(Errno.EBADF));
    }

    @Test
    void unknownNamespaceIsAClearError() {
        assertThatThrownBy(() -> NetworkNamespace.named("sl-no-such-namespace").call(() -> 1))
                .hasMessageContaining("open(/var/run/netns/sl-no-such-namespace): ENOENT");
    }

    @Test
    void libbpfIsReachable() {
        assertThat(BpfMap.possibleCpus()).isPositive();
    }
}
