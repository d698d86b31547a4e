package io.socketlauncher.repair;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.sys.Libc;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Real connections on the testbed, moved between s1 and s2 with TCP_REPAIR; every byte checked. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TcpRepairTest {
    static MoveBed bed;
    static ExecutorService pool;

    @BeforeAll
    static void up() throws Exception {
        bed = new MoveBed();
        pool = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    static void down() {
        if (pool != null) pool.shutdownNow();
        if (bed != null) bed.close();
    }

    /** Both directions at once: the client and the server each send {@code n} more bytes and check the other's. */
    static void exchange(MoveBed.Flow flow, long clientSent, long serverSent, int n) throws Exception {
        Future<?> a = pool.submit(() -> { Streams.send(flow.clientFd, clientSent, n, Streams.CLIENT); return null; });
        Future<?> b = pool.submit(() -> { Streams.expect(flow.serverFd, clientSent, n, Streams.CLIENT); return null; });
        Future<?> c = pool.submit(() -> { Streams.send(flow.serverFd, serverSent, n, Streams.SERVER); return null; });
        Future<?> d = pool.submit(() -> { Streams.expect(flow.clientFd, serverSent, n, Streams.SERVER); return null; });
        for (Future<?> f : new Future<?>[] {a, b, c, d}) f.get(60, TimeUnit.SECONDS);
    }

    @Test
    void establishedConnectionWithQueuesMovesBothWaysAndGoesOn() throws Exception {
        MoveBed.Flow flow = bed.connect();
        try {
            Streams.send(flow.clientFd, 0, 1000, Streams.CLIENT);
            Streams.send(flow.serverFd, 0, 1500, Streams.SERVER);
            TcpInfo.awaitInq(flow.serverFd, 1000);

            TcpState state = bed.move(flow);

            assertThat(state.state()).isEqualTo(TcpConnectionState.ESTABLISHED);
            assertThat(state.receiveQueue()).isEqualTo(Streams.pattern(0, 1000, Streams.CLIENT));
            assertThat(flow.server).isSameAs(bed.s2);
            Streams.expect(flow.serverFd, 0, 1000, Streams.CLIENT);
            Streams.expect(flow.clientFd, 0, 1500, Streams.SERVER);
            exchange(flow, 1000, 1500, 300_000);

            bed.move(flow);
            assertThat(flow.server).isSameAs(bed.s1);
            exchange(flow, 301_000, 301_500, 300_000);
        } finally {
            flow.close();
        }
    }
}
