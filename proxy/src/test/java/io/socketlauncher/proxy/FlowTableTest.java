package io.socketlauncher.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.socketlauncher.bpf.proxy.Flow;
import io.socketlauncher.bpf.proxy.FlowTuple;
import io.socketlauncher.bpf.proxy.ProxyProgram;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The flow table at map level: bounded and least-recently-used, as the kernel's LRU hash keeps it. */
class FlowTableTest {
    private static FlowTuple flow(int i) throws Exception {
        InetAddress client = InetAddress.getByAddress(new byte[] {10, 1, (byte) (i >>> 16), (byte) (i >>> 8)});
        return new FlowTuple(new InetSocketAddress(client, 1024 + (i & 0xff)), new InetSocketAddress("10.77.200.1", 80));
    }

    @Test
    void hundredThousandFlowsInATableOfSixtyFiveThousandEvictTheOldest() throws Exception {
        int capacity = 65536, inserted = 100_000;
        try (ProxyProgram program = ProxyProgram.load(capacity)) {
            for (int i = 0; i < inserted; i++) program.flows.put(flow(i), new Flow(i, 0, 0, 0, i % 7, 0, 0));
            int[] count = {0};
            program.flows.forEach(Integer.MAX_VALUE, (k, f) -> count[0]++);
            assertThat(count[0]).isLessThanOrEqualTo(capacity).isGreaterThan(capacity / 2);
            // The kernel's LRU is approximate: a flow can wait in the per-CPU list of the CPU that inserted it, out of
            // eviction's reach, when the inserting thread has moved on to the other CPU (flow 0 survived once). The
            // oldest as a whole are gone; a few hundred, one such list's worth, may stay.
            int oldest = 10_000, survivors = 0;
            for (int i = 0; i < oldest; i++) if (program.flows.get(flow(i)) != null) survivors++;
            System.out.printf("LRU: %d flows kept of %d inserted; %d of the oldest %d survived%n", count[0], inserted, survivors, oldest);
            assertThat(survivors).as("flows among the oldest %d still in the table", oldest).isLessThan(oldest / 10);
            for (int i = inserted - 1000; i < inserted; i++) {
                assertThat(program.flows.get(flow(i))).as("recent flow %d", i).isEqualTo(new Flow(i, 0, 0, 0, i % 7, 0, 0));
            }
        }
    }

    @Test
    void flowEntriesRoundTripThroughTheKernel() throws Exception {
        try (ProxyProgram program = ProxyProgram.load(1024)) {
            FlowTuple v6 = new FlowTuple(new InetSocketAddress("fd77:0:1::2", 40000), new InetSocketAddress("fd77:0:200::1", 443));
            Flow f = new Flow(123456789L, 5, 10, 2000, 3, 20001, 1);
            program.flows.put(v6, f);
            assertThat(program.flows.get(v6)).isEqualTo(f);
            Flow redirected = f.withBackend(4, 20002);
            assertThat(program.flows.replace(v6, redirected)).isTrue();
            assertThat(program.flows.get(v6)).isEqualTo(redirected);
            assertThat(program.flows.remove(v6)).isTrue();
            assertThat(program.flows.get(v6)).isNull();
            // A flow that ended is not brought back by a redirect that read it before.
            assertThat(program.flows.replace(v6, f)).isFalse();
            assertThat(program.flows.get(v6)).isNull();
        }
    }
}
