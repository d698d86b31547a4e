package io.socketlauncher.bpf.hold;

import io.socketlauncher.sys.BpfLink;
import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NativeException;

/**
 * hold.bpf.o loaded and attached to the TC ingress of one interface as a TCX link. Construct it on a thread inside
 * the interface's network namespace: the interface index is looked up and the link attached in the caller's
 * namespace. Closing it, or the death of its process, detaches this program alone: other TC programs on the
 * interface stay, and a restarted server attaches anew.
 */
public final class HoldProgram implements AutoCloseable {
    private final BpfObject object;
    private final BpfLink link;
    private final HoldFlows flows;
    private final int ifindex;
    private boolean closed;

    private HoldProgram(BpfObject object, BpfLink link, int ifindex) {
        this.object = object;
        this.link = link;
        this.ifindex = ifindex;
        this.flows = new HoldFlows(object.map("hold_flows"), object.map("hold_diverted"), object.map("hold_released"));
    }

    public static HoldProgram attach(String interfaceName) throws NativeException {
        int ifindex = Libc.ifNameToIndex(interfaceName);
        BpfObject object = BpfObject.openResource(BpfObject.class, "/bpf/hold.bpf.o");
        try {
            object.load();
            BpfLink link = object.program("sl_hold_ingress").attachTcx(ifindex, BpfProgram.TCX_INGRESS);
            return new HoldProgram(object, link, ifindex);
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
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            link.close();
        } finally {
            object.close();
        }
    }
}
