package io.socketlauncher.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.socketlauncher.bpf.proxy.Flow;
import io.socketlauncher.bpf.proxy.FlowTuple;
import io.socketlauncher.bpf.proxy.ProxyProgram;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The flow table at map level: bounded and least-recently-used, as the kernel's LRU hash keeps it, and its expiry. */
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
            assertThat(program.repoint(v6, 4, 20002)).isTrue();
            assertThat(program.flows.get(v6)).isEqualTo(f.withBackend(4, 20002));
            assertThat(program.flows.remove(v6)).isTrue();
            assertThat(program.flows.get(v6)).isNull();
            // A flow that ended is not brought back by a redirect that read it before.
            assertThat(program.repoint(v6, 3, 20001)).isFalse();
            assertThat(program.flows.get(v6)).isNull();
        }
    }

    /**
     * Proxy.redirect reads a flow (for its NAT port), then re-points it. The data plane keeps writing to the entry in
     * between: counters, last seen, and the closing mark of a FIN, which starts the flow's short grace period. Writing
     * back an entry built from the read would undo those; the re-pointing replaces only the mapping.
     */
    @Test
    void aRepointKeepsWhatTheDataPlaneWroteSinceTheEntryWasRead() throws Exception {
        try (ProxyProgram program = ProxyProgram.load(1024)) {
            FlowTuple key = flow(1);
            program.flows.put(key, new Flow(1_000, 0, 10, 2_000, 3, 20001, 0));
            Flow read = program.flows.get(key);
            Flow meanwhile = new Flow(2_000, 1_900, 12, 2_400, 3, 20001, 1); // a FIN went through
            program.flows.put(key, meanwhile);
            assertThat(program.repoint(key, 4, read.natPort())).isTrue();
            assertThat(program.flows.get(key)).isEqualTo(meanwhile.withBackend(4, 20001));
            assertThat(program.repoint(key, 5, 40000)).isTrue();
            assertThat(program.flows.get(key)).as("backend and NAT port replaced together")
                    .isEqualTo(meanwhile.withBackend(5, 40000));
        }
    }

    @Test
    void maintenanceDeletesOnlyFlowsStillExpiredWhenItComesToThem() throws Exception {
        long second = 1_000_000_000L;
        FlowExpiry expiry = new FlowExpiry(300 * second, 10 * second);
        try (ProxyProgram program = ProxyProgram.load(1024)) {
            long now = System.nanoTime();
            FlowTuple reused = flow(1), closed = flow(2), idle = flow(3), revived = flow(4), gone = flow(5), open = flow(6);
            program.flows.put(reused, new Flow(now - 20 * second, now - 20 * second, 10, 1000, 1, 0, 1));
            program.flows.put(closed, new Flow(now - 20 * second, now - 20 * second, 10, 1000, 1, 0, 1));
            program.flows.put(idle, new Flow(now - 400 * second, 0, 10, 1000, 2, 0, 0));
            program.flows.put(revived, new Flow(now - 400 * second, 0, 10, 1000, 2, 0, 0));
            program.flows.put(gone, new Flow(now - 20 * second, now - 20 * second, 10, 1000, 1, 0, 1));
            program.flows.put(open, new Flow(now, 0, 10, 1000, 3, 0, 0));
            List<FlowTuple> walked = new ArrayList<>();
            program.flows.forEach(Integer.MAX_VALUE, (k, f) -> {
                if (expiry.expired(f, now)) walked.add(k);
            });
            assertThat(walked).containsExactlyInAnyOrder(reused, closed, idle, revived, gone);

            // Between the walk and the deletes: a new connection on a closed flow's 5-tuple (learned anew, open, at
            // another backend), a packet of an idle flow, and a flow the LRU evicted.
            Flow learned = new Flow(System.nanoTime(), 0, 1, 60, 2, 0, 0);
            program.flows.put(reused, learned);
            Flow touched = new Flow(System.nanoTime(), 0, 11, 1100, 2, 0, 0);
            program.flows.put(revived, touched);
            program.flows.remove(gone);

            Map<FlowTuple, Flow> removed = expiry.removeStillExpired(program.flows, walked);
            assertThat(removed).containsOnlyKeys(closed, idle);
            assertThat(removed.get(closed).backend()).as("the entry as deleted, for its reverse entry").isEqualTo(1);
            assertThat(program.flows.get(closed)).isNull();
            assertThat(program.flows.get(idle)).isNull();
            assertThat(program.flows.get(reused)).isEqualTo(learned);
            assertThat(program.flows.get(revived)).isEqualTo(touched);
            assertThat(program.flows.get(open)).isNotNull();
        }
    }

    @Test
    void aFlowExpiresWhenIdleOrWhenClosingAndQuiet() {
        FlowExpiry expiry = new FlowExpiry(300, 10);
        assertThat(expiry.expired(new Flow(1000, 0, 0, 0, 0, 0, 0), 1299)).isFalse();
        assertThat(expiry.expired(new Flow(1000, 0, 0, 0, 0, 0, 0), 1301)).isTrue();
        assertThat(expiry.expired(new Flow(1000, 990, 0, 0, 0, 0, 1), 1010)).isFalse();
        assertThat(expiry.expired(new Flow(1000, 990, 0, 0, 0, 0, 1), 1011)).isTrue();
        assertThatThrownBy(() -> new FlowExpiry(0, 10)).isInstanceOf(IllegalArgumentException.class);
    }
}
