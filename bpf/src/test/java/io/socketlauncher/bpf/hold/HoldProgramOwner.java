package io.socketlauncher.bpf.hold;

/**
 * A process that attaches the hold program to an interface of its namespace, says ATTACHED and keeps it until
 * its stdin ends, so that a test can kill it with the link open. Runs inside the namespace (ip netns exec).
 */
public final class HoldProgramOwner {
    private HoldProgramOwner() {}

    public static void main(String[] args) throws Exception {
        try (HoldProgram program = HoldProgram.attach(args[0])) {
            System.out.println("ATTACHED");
            System.out.flush();
            System.in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }
}
