package io.socketlauncher.server.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.bpf.hold.FlowTuple;
import io.socketlauncher.repair.DataDuringDumpException;
import io.socketlauncher.repair.TcpRepair;
import io.socketlauncher.repair.TcpState;
import io.socketlauncher.server.hold.DataPlane;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.testbed.LoopbackPair;
import io.socketlauncher.testbed.NumberedStream;
import java.io.IOException;
import java.net.InetAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A departure whose capture met data still on its way into the socket drains again and captures once more, instead of
 * rolling the whole migration back; a second refusal, or any other failure, ends it. A real loopback connection, a
 * capture that refuses as often as a test says (the kernel's side of it: TcpRepairTest), and a data plane that only
 * forwards, uncounted.
 */
class DepartTest {
    private static final long QUIET = 100_000, MAX = 10_000_000;

    /** LOCAL, but its first {@code refusals} captures fail as one that saw data arrive during the dump. */
    private static final class RefusingRepair implements SocketRepair {
        final int refusals;
        final RuntimeException instead;
        int captures;

        RefusingRepair(int refusals, RuntimeException instead) {
            this.refusals = refusals;
            this.instead = instead;
        }

        @Override
        public TcpState capture(int fd) throws IOException {
            if (++captures <= refusals) {
                throw instead != null ? instead : new DataDuringDumpException("data arrived during the dump (capture " + captures + ")");
            }
            return LOCAL.capture(fd);
        }

        @Override
        public void resume(int fd) throws IOException {
            LOCAL.resume(fd);
        }

        @Override
        public int restoreForRelease(TcpState state) throws IOException {
            return LOCAL.restoreForRelease(state);
        }

        @Override
        public void silentClose(int fd) {
            LOCAL.silentClose(fd);
        }
    }

    private static final DataPlane FORWARDS_UNCOUNTED = new DataPlane() {
        @Override
        public long forward(FlowTuple flow, InetAddress target) {
            return -1;
        }

        @Override
        public long hold(FlowTuple flow) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int release(FlowTuple flow) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int discard(FlowTuple flow) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int handBack(FlowTuple flow, InetAddress source) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean count(FlowTuple flow) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long stopForwarding(FlowTuple flow) {
            throw new UnsupportedOperationException();
        }
    };

    private LoopbackPair pair;
    private int server;
    private FlowTuple flow;

    @BeforeEach
    void connect() throws Exception {
        pair = LoopbackPair.open();
        server = pair.server();
        flow = new FlowTuple(Libc.getpeername(server), Libc.getsockname(server));
        NumberedStream.send(pair.client(), 0, 2000, NumberedStream.CLIENT_TO_SERVER);
    }

    @AfterEach
    void close() {
        pair.close();
    }

    @Test
    void aCaptureThatMetArrivingDataIsTriedOnceMoreAfterTheSocketWentQuiet() throws Exception {
        RefusingRepair repair = new RefusingRepair(1, null);
        SocketRepair.Departure departure = repair.depart(server, FORWARDS_UNCOUNTED, flow, InetAddress.getLoopbackAddress(), -1,
                QUIET, MAX, false);
        assertThat(repair.captures).isEqualTo(2);
        assertThat(departure.state().receiveQueue()).as("the state of the second capture")
                .isEqualTo(NumberedStream.pattern(0, 2000, NumberedStream.CLIENT_TO_SERVER));
        assertThat(departure.drainNanos()).as("both drains, each uncounted and so at least the quiet time").isGreaterThanOrEqualTo(2 * QUIET);
        TcpRepair.resume(server);
        NumberedStream.expect(server, 0, 2000, NumberedStream.CLIENT_TO_SERVER);
    }

    @Test
    void aSecondRefusalEndsTheDepartureAtItsCapture() throws Exception {
        RefusingRepair repair = new RefusingRepair(2, null);
        assertThatThrownBy(() -> repair.depart(server, FORWARDS_UNCOUNTED, flow, InetAddress.getLoopbackAddress(), -1, QUIET, MAX, false))
                .isInstanceOfSatisfying(DepartureException.class, e -> {
                    assertThat(e.step()).isEqualTo(DepartureException.Step.CAPTURE);
                    assertThat(e.getMessage()).isEqualTo("twice: data arrived during the dump (capture 2)");
                    assertThat(e.getCause().getSuppressed()).extracting(Throwable::getMessage)
                            .containsExactly("data arrived during the dump (capture 1)");
                });
        assertThat(repair.captures).isEqualTo(2);
        NumberedStream.expect(server, 0, 2000, NumberedStream.CLIENT_TO_SERVER);
    }

    @Test
    void anyOtherCaptureFailureIsNotTriedAgain() {
        RefusingRepair repair = new RefusingRepair(1, new IllegalStateException("socket in TCP state 7 can't be moved"));
        assertThatThrownBy(() -> repair.depart(server, FORWARDS_UNCOUNTED, flow, InetAddress.getLoopbackAddress(), -1, QUIET, MAX, false))
                .isInstanceOfSatisfying(DepartureException.class, e -> assertThat(e.step()).isEqualTo(DepartureException.Step.CAPTURE))
                .hasMessage("socket in TCP state 7 can't be moved");
        assertThat(repair.captures).isEqualTo(1);
    }
}
