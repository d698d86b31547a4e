/* Map layouts of hold.bpf.c, shared with the Java views in io.socketlauncher.bpf.hold (keep in step). */
#ifndef SOCKET_LAUNCHER_HOLD_MAPS_H
#define SOCKET_LAUNCHER_HOLD_MAPS_H

#include <linux/types.h>

#define HOLD_MAX_FLOWS 65536

/* A TCP flow as this server receives it: remote (client, or the proxy in full NAT) -> local address.
 * Addresses are four 32-bit words so IPv6 fits; IPv4 uses word 0 and leaves the rest zero. */
struct hold_flow_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport; /* network order */
	__u16 dport;
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 proto; /* IPPROTO_TCP */
	__u16 pad;
};

/* Target side: redirect the flow's packets to the egress of a TUN device, where a reader keeps them. */
#define HOLD_DIVERT 1u
/* Source side: send the flow's packets back out of the interface they came in on (to the load
 * balancer), destination rewritten to new_dst unless that is all zero. */
#define HOLD_FORWARD 2u
/* Source side, from HOLDING until the flow is forwarded: pass the flow's packets to the stack, counting
 * their segments in hold_diverted. The source's drain then knows exactly how many segments its socket
 * must have seen (tcpi_segs_in) before nothing of the flow is left on its way there. */
#define HOLD_COUNT 3u

/* Releasing a divert without reordering: the program counts in hold_diverted the segments it sent
 * to the TUN; the reader publishes in hold_released how many of them it has written back into the
 * stack (the entry's presence means the flow is being released). Once every diverted segment is back,
 * packets of the flow go straight to the stack: nothing of it is left in the TUN for them to overtake.
 * Two maps with one writer each: a userspace update replaces a hash element, which would lose the
 * program's concurrent increments if both counters shared one. Values are __u64 counts. */

struct hold_action {
	__u32 kind;
	__u32 ifindex; /* HOLD_DIVERT: the TUN device */
	__u32 new_dst[4]; /* HOLD_FORWARD: same family as the key */
	__u64 packets; /* counted by the program */
	__u64 bytes;
};

#endif
