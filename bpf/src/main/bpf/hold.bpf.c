// SPDX-License-Identifier: GPL-2.0
/* The server's side of a live migration, on the TC ingress of its interface to the load balancer.
 * A flow being restored here is diverted to a TUN device until its socket exists (HOLD_DIVERT), so
 * no segment meets the stack early and draws a reset; a flow that has left this server is bounced
 * back to the load balancer towards its new server (HOLD_FORWARD), so late segments are delivered
 * rather than reset. Every other packet passes untouched after one hash lookup. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "hold_maps.h"
#include "tcx.h"

#define AF_INET 2
#define AF_INET6 10
#define IP_FRAGMENT_BITS 0x3fff

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOLD_MAX_FLOWS);
	__type(key, struct hold_flow_key);
	__type(value, struct hold_action);
} hold_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOLD_MAX_FLOWS);
	__type(key, struct hold_flow_key);
	__type(value, __u64);
} hold_diverted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOLD_MAX_FLOWS);
	__type(key, struct hold_flow_key);
	__type(value, __u64);
} hold_released SEC(".maps");

/* Diverts to the TUN unless the flow is being released and the reader has written back everything
 * diverted so far. A GSO packet leaves the TUN as gso_segs packets, so it counts as that many. */
static __always_inline int divert(struct __sk_buff *skb, struct hold_flow_key *key, __u32 tun)
{
	__u64 *diverted = bpf_map_lookup_elem(&hold_diverted, key);
	if (!diverted)
		return bpf_redirect(tun, 0);
	__u64 *released = bpf_map_lookup_elem(&hold_released, key);
	if (released && *(volatile __u64 *)diverted <= *(volatile __u64 *)released)
		return PASS_ON;
	__u32 segments = skb->gso_segs;
	__sync_fetch_and_add(diverted, segments ? segments : 1);
	return bpf_redirect(tun, 0);
}

static __always_inline int forward_ipv4(struct __sk_buff *skb, __u32 l4off, __u32 old_dst, __u32 new_dst)
{
	if (bpf_l4_csum_replace(skb, l4off + offsetof(struct tcphdr, check), old_dst, new_dst, BPF_F_PSEUDO_HDR | 4))
		return -1;
	if (bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old_dst, new_dst, 4))
		return -1;
	return bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, daddr), &new_dst, 4, 0);
}

static __always_inline int forward_ipv6(struct __sk_buff *skb, __u32 l4off, __u32 *old_dst, __u32 *new_dst)
{
	__s64 diff = bpf_csum_diff(old_dst, 16, new_dst, 16, 0);
	if (diff < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, l4off + offsetof(struct tcphdr, check), 0, (__u32)diff, BPF_F_PSEUDO_HDR))
		return -1;
	return bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct ipv6hdr, daddr), new_dst, 16, 0);
}

/* The packet came from the load balancer, the only neighbour on this link: swapping the MAC
 * addresses addresses it back there. */
static __always_inline int swap_macs(struct __sk_buff *skb)
{
	__u8 macs[12], swapped[12];
	if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)))
		return -1;
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	return bpf_skb_store_bytes(skb, 0, swapped, sizeof(swapped), 0);
}

SEC("tc")
int sl_hold_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct hold_flow_key key = {};
	__u32 l4off;

	if ((void *)(eth + 1) > end)
		return PASS_ON;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5)
			return PASS_ON;
		if (ip->frag_off & bpf_htons(IP_FRAGMENT_BITS))
			return PASS_ON;
		key.src[0] = ip->saddr;
		key.dst[0] = ip->daddr;
		key.family = AF_INET;
		l4off = ETH_HLEN + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		/* Extension headers are left alone: TCP of this product never carries them. */
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return PASS_ON;
		__builtin_memcpy(key.src, &ip6->saddr, 16);
		__builtin_memcpy(key.dst, &ip6->daddr, 16);
		key.family = AF_INET6;
		l4off = ETH_HLEN + sizeof(struct ipv6hdr);
	} else {
		return PASS_ON;
	}
	if (l4off > 128)
		return PASS_ON;
	struct tcphdr *tcp = data + l4off;
	if ((void *)(tcp + 1) > end)
		return PASS_ON;
	key.sport = tcp->source;
	key.dport = tcp->dest;
	key.proto = IPPROTO_TCP;

	struct hold_action *action = bpf_map_lookup_elem(&hold_flows, &key);
	if (!action)
		return PASS_ON;
	__sync_fetch_and_add(&action->packets, 1);
	__sync_fetch_and_add(&action->bytes, skb->len);

	if (action->kind == HOLD_DIVERT)
		return divert(skb, &key, action->ifindex);
	if (action->kind == HOLD_COUNT) {
		__u64 *counted = bpf_map_lookup_elem(&hold_diverted, &key);
		if (counted) {
			__u32 segments = skb->gso_segs;
			__sync_fetch_and_add(counted, segments ? segments : 1);
		}
		return PASS_ON;
	}
	if (action->kind == HOLD_FORWARD) {
		__u32 new_dst[4];
		__builtin_memcpy(new_dst, action->new_dst, 16);
		if (new_dst[0] | new_dst[1] | new_dst[2] | new_dst[3]) {
			int err = key.family == AF_INET ? forward_ipv4(skb, l4off, key.dst[0], new_dst[0])
							: forward_ipv6(skb, l4off, key.dst, new_dst);
			if (err)
				return TC_ACT_SHOT;
		}
		if (swap_macs(skb))
			return TC_ACT_SHOT;
		return bpf_redirect(skb->ifindex, 0);
	}
	return PASS_ON;
}
