package io.socketlauncher.server.hold;

import io.socketlauncher.bpf.hold.FlowTuple;
import java.io.IOException;
import java.net.InetAddress;

/**
 * What a migration asks of a server's packet path (see {@link HoldPlane}): hold a flow that is coming here and
 * release or discard it, forward a flow that left. Implemented by the {@link HoldPlane} itself when the server
 * process has the privileges, and through the privileged agent when it has not
 * ({@code io.socketlauncher.server.agent.AgentPrivileges}).
 */
public interface DataPlane {
    /**
     * From now on none of the flow's packets reaches the stack until {@link #release} or {@link #discard}. Replaces
     * the forwarding of the flow's earlier departure from here, if any, and returns how many packets that forwarding
     * had sent on (0 if there was none). -1, and nothing done, while the flow is held already or still being handed
     * over to the direct path after a release. One call where a check, the end of forwarding and a hold would be
     * three: through the agent, each is an exchange.
     */
    long hold(FlowTuple flow) throws IOException;

    /** Writes the held packets into the stack in the order the client sent them; returns how many. */
    int release(FlowTuple flow) throws IOException;

    /** Ends the hold and throws its packets away (the client retransmits them); returns how many. */
    int discard(FlowTuple flow) throws IOException;

    /**
     * Ends the hold by sending the flow's packets on to {@code source} (same address family) from now on, as a
     * source forwards a departed flow, for a migration whose source kept the connection without knowing where the
     * proxy points it. The held packets, and any still on their way through the hold, are thrown away rather than
     * written into a stack that has no socket for them (the client retransmits them, and they reach the source);
     * returns how many were held. {@link #stopForwarding} ends it.
     */
    int handBack(FlowTuple flow, InetAddress source) throws IOException;

    /**
     * Source side, from HOLDING on: the flow's packets still go to the stack, and their segments are counted, so that
     * {@link #forward} can tell how many the socket must have seen. False (nothing done) for a flow held here or
     * still being handed over after a release.
     */
    boolean count(FlowTuple flow) throws IOException;

    /**
     * Sends the flow's packets on to {@code target} (same address family) from now on. Returns the segments passed
     * to the stack since {@link #count}, or -1 if they were not counted.
     */
    long forward(FlowTuple flow, InetAddress target) throws IOException;

    /** Ends forwarding (or counting); returns how many packets were forwarded, or -1 if the flow was not forwarded. */
    long stopForwarding(FlowTuple flow) throws IOException;
}
