package io.socketlauncher.bpf.hold;

import io.socketlauncher.sys.BpfLink;
import io.socketlauncher.sys.BpfObject;
import io.socketlauncher.sys.BpfProgram;
import io.socketlauncher.sys.Libc;
import io.socketlauncher.sys.NetworkNamespace;

/**
 * A process that attaches to an interface of a network namespace a hold program and, beside it, the same program
 * as a bare TCX link (unpinned), says ATTACHED and keeps both until its stdin ends, so that a test can kill it with
 * both attached. Args: namespace, interface. Not started by {@code ip netns exec}, whose private /sys hides bpffs.
 */
public final class HoldProgramOwner {
    private HoldProgramOwner() {}

    public static void main(String[] args) throws Exception {
        NetworkNamespace namespace = NetworkNamespace.named(args[0]);
        try (HoldProgram program = namespace.call(() -> HoldProgram.attach(args[1]));
             BpfObject bare = BpfObject.openResource(BpfObject.class, "/bpf/hold.bpf.o")) {
            bare.load();
            try (BpfLink link = namespace.call(() ->
                    bare.program("sl_hold_ingress").attachTcx(Libc.ifNameToIndex(args[1]), BpfProgram.TCX_INGRESS, BpfProgram.TcxPosition.LAST))) {
                System.out.println("ATTACHED");
                System.out.flush();
                System.in.transferTo(java.io.OutputStream.nullOutputStream());
            }
        }
    }
}
