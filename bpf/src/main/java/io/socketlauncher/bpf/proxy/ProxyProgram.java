package io.socketlauncher.bpf.proxy;

import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.NativeException;

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

    private ProxyProgram(BpfObject object) {
        this.object = object;
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
    }

    /** Loads the program with a flow table (and reverse table) of {@code maxFlows} entries. */
    public static ProxyProgram load(int maxFlows) throws NativeException {
        if (maxFlows < 16 || maxFlows > 16_777_216) throw new IllegalArgumentException("flow table size out of range: " + maxFlows);
        BpfObject object = BpfObject.openResource(BpfObject.class, "/bpf/proxy.bpf.o");
        try {
            object.map("flows").setMaxEntries(maxFlows);
            object.map("reverse").setMaxEntries(maxFlows);
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

    @Override
    public void close() {
        object.close();
    }
}
