package io.socketlauncher.bpf.hold;

import io.socketlauncher.sys.BpfMap;
import io.socketlauncher.sys.NativeException;
import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * The maps of hold.bpf.c, keyed by the flow as this server receives it: {@code hold_flows} (what to do
 * with the flow), and for a diverted flow the counters {@code hold_diverted} (segments the program sent
 * to the TUN, written only by the program) and {@code hold_released} (segments written back into the
 * stack, written only from here; present while the flow is being released).
 */
public final class HoldFlows {
    private final BpfMap flows, diverted, released;

    HoldFlows(BpfMap flows, BpfMap diverted, BpfMap released) {
        this.flows = flows;
        this.diverted = diverted;
        this.released = released;
    }

    /** Diverts the flow to the TUN device {@code tunIfindex}: the next packet the program sees goes there. */
    public void divert(FlowTuple flow, int tunIfindex) throws NativeException {
        byte[] key = flow.encode();
        // The counter first: the program counts every segment it diverts from the first one on.
        diverted.update(key, new byte[8], BpfMap.ANY);
        released.delete(key);
        flows.update(key, HoldAction.divert(tunIfindex).encode(), BpfMap.ANY);
    }

    /** Passes the flow to the stack, counting its segments from 0 (see {@link #countedSegments}). */
    public void count(FlowTuple flow) throws NativeException {
        byte[] key = flow.encode();
        diverted.update(key, new byte[8], BpfMap.ANY);
        released.delete(key);
        flows.update(key, HoldAction.count().encode(), BpfMap.ANY);
    }

    /** Segments counted since {@link #count} (they outlive a switch to forwarding), or -1 if none are counted. */
    public long countedSegments(FlowTuple flow) throws NativeException {
        byte[] value = new byte[8];
        return diverted.lookup(flow.encode(), value) ? ByteBuffer.wrap(value).order(ByteOrder.nativeOrder()).getLong() : -1;
    }

    /** Replaces whatever the flow had with forwarding (see {@link HoldAction.Kind#FORWARD}). */
    public void forward(FlowTuple flow, HoldAction action) throws NativeException {
        if (action.kind() != HoldAction.Kind.FORWARD) throw new IllegalArgumentException("not a forward action: " + action);
        flows.update(flow.encode(), action.encode(), BpfMap.ANY);
    }

    public Optional<HoldAction> get(FlowTuple flow) throws NativeException {
        byte[] value = new byte[HoldAction.SIZE];
        if (!flows.lookup(flow.encode(), value)) return Optional.empty();
        int family = flow.local().getAddress() instanceof Inet4Address ? FlowTuple.AF_INET : FlowTuple.AF_INET6;
        return Optional.of(HoldAction.decode(value, family));
    }

    /** Segments of the flow the program has diverted so far (0 if it isn't diverted). */
    public long divertedSegments(FlowTuple flow) throws NativeException {
        byte[] value = new byte[8];
        return diverted.lookup(flow.encode(), value) ? ByteBuffer.wrap(value).order(ByteOrder.nativeOrder()).getLong() : 0;
    }

    /**
     * Tells the program that {@code count} diverted segments are back in the stack: once that covers
     * every diverted segment, it lets the flow's packets through directly.
     */
    public void publishReleased(FlowTuple flow, long count) throws NativeException {
        released.update(flow.encode(), ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(count).array(), BpfMap.ANY);
    }

    /** Ends whatever the program does with the flow; returns false if it did nothing with it. */
    public boolean remove(FlowTuple flow) throws NativeException {
        byte[] key = flow.encode();
        boolean had = flows.delete(key);
        released.delete(key);
        diverted.delete(key);
        return had;
    }
}
