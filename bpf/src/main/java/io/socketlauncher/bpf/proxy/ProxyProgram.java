package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.NativeException;
import java.nio.ByteBuffer;

/**
 * proxy.bpf.o loaded: its programs ({@link #xdp()}, {@link #tc()}, {@link #xdpPass()}) and typed views
 * of its maps. Attachments are the caller's to make and undo; closing releases the object.
 */
public final class ProxyProgram implements AutoCloseable {
    private final BpfObject object;
    public final ServicesMap services;
    public final BackendsMap backends;
    public final RingsMap rings;
    public final FlowsMap flows;
    public final ReverseMap reverse;
    public final CountersMap serviceCounters;
    public final CountersMap backendCounters;
    public final ActiveFlowsMap activeFlows;
    public final ConfigMap config;
    public final VethEgressMap vethEgress;
    public final SnatBackendsMap snatBackends;
    public final SnatLinksMap snatLinks;

    /** Found once here: BpfObject's lookup is not for concurrent callers, and redirects come from many threads. */
    private final BpfProgram repoint;

    private ProxyProgram(BpfObject object) {
        this.object = object;
        repoint = object.program("proxy_repoint");
        services = new ServicesMap(object.map("services"));
        backends = new BackendsMap(object.map("backends"));
        rings = new RingsMap(object.map("rings"));
        flows = new FlowsMap(object.map("flows"));
        reverse = new ReverseMap(object.map("reverse"));
        serviceCounters = new CountersMap(object.map("service_counters"));
        backendCounters = new CountersMap(object.map("backend_counters"));
        activeFlows = new ActiveFlowsMap(object.map("backend_active"));
        config = new ConfigMap(object.map("config"));
        vethEgress = new VethEgressMap(object.map("veth_egress"));
        snatBackends = new SnatBackendsMap(object.map("snat_backends"));
        snatLinks = new SnatLinksMap(object.map("snat_links"));
    }

    /** Loads the program with a flow table of {@code maxFlows} entries and a reverse table of twice that. */
    public static ProxyProgram load(int maxFlows) throws NativeException {
        if (maxFlows < 16 || maxFlows > 16_777_216) throw new IllegalArgumentException("flow table size out of range: " + maxFlows);
        BpfObject object = BpfObject.openResource(BpfObject.class, "/bpf/proxy.bpf.o");
        try {
            object.map("flows").setMaxEntries(maxFlows);
            // Per flow an entry at each backend it was sent to (kept until it ends), and with one full-NAT source
            // address a reservation: room for two per flow. A flow moved more holds more; a full table evicts the
            // least recently used, reservations first (no packet reads them).
            object.map("reverse").setMaxEntries(2 * maxFlows);
            object.load();
            return new ProxyProgram(object);
        } catch (NativeException | RuntimeException e) {
            object.close();
            throw e;
        }
    }

    public BpfProgram xdp() {
        return object.program("proxy_xdp");
    }

    public BpfProgram tc() {
        return object.program("proxy_tc");
    }

    /** XDP_PASS, for the far end of a veth that receives redirected frames. */
    public BpfProgram xdpPass() {
        return object.program("xdp_pass");
    }

    /**
     * Re-points a live flow: its backend and NAT port (network order in the entry; {@code natPort} as a port number)
     * are replaced in place by one compare-and-swap in the kernel ({@code proxy_repoint}), so what the data plane
     * writes to the entry meanwhile (counters, last seen, the closing mark) stays. Returns false, writing nothing,
     * if there is no such flow (it ended, or was evicted, also while being re-pointed).
     */
    public boolean repoint(FlowTuple key, int backend, int natPort) throws NativeException {
        byte[] argument = new byte[FlowTuple.SIZE + 8];
        ByteBuffer b = Wire.buffer(argument);
        b.put(key.encode()).putInt(backend);
        Wire.putPort(b, natPort);
        int result = repoint.run(argument);
        return switch (result) {
            case 0 -> true;
            case 1 -> false;
            default -> throw new IllegalStateException("proxy_repoint of " + key + " returned " + result
                    + (result == 2 ? ": the data plane kept changing the entry's flags" : ""));
        };
    }

    @Override
    public void close() {
        object.close();
    }
}
