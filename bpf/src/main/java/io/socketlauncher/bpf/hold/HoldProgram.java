package io.socketlauncher.bpf.hold;

import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;

/**
 * hold.bpf.o loaded and attached to the TC ingress of one interface. Construct and close it on a thread
 * inside the interface's network namespace: the attachment acts in the caller's namespace. Closing
 * removes the interface's clsact qdisc, so nothing else may share TC on that interface.
 */
public final class HoldProgram implements AutoCloseable {
    private static final int PRIORITY = 1;

    private final BpfObject object;
    private final HoldFlows flows;
    private final int ifindex;
    private boolean closed;

    private HoldProgram(BpfObject object, int ifindex) {
        this.object = object;
        this.ifindex = ifindex;
        this.flows = new HoldFlows(object.map("hold_flows"), object.map("hold_diverted"), object.map("hold_released"));
    }

    public static HoldProgram attach(String interfaceName) throws NativeException {
        int ifindex = Libc.ifNameToIndex(interfaceName);
        BpfObject object = BpfObject.openResource(BpfObject.class, "/bpf/hold.bpf.o");
        try {
            object.load();
            object.program("sl_hold_ingress").attachTc(ifindex, BpfProgram.TC_INGRESS, PRIORITY);
            return new HoldProgram(object, ifindex);
        } catch (NativeException | RuntimeException e) {
            object.close();
            throw e;
        }
    }

    public HoldFlows flows() {
        return flows;
    }

    public int ifindex() {
        return ifindex;
    }

    @Override
    public synchronized void close() throws NativeException {
        if (closed) return;
        closed = true;
        try {
            BpfProgram.detachTc(ifindex);
        } finally {
            object.close();
        }
    }
}
