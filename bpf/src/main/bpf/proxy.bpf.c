// SPDX-License-Identifier: GPL-2.0
/*
 * The proxy's data plane: an L4 load balancer that NATs a virtual address and port (a service) to
 * backends, and the backends' replies back to the virtual address.
 *
 * Two entry points share one decision: proxy_xdp (XDP, checksums updated by hand per RFC 1624 because
 * XDP has no checksum helpers) and proxy_tc (TC ingress, through the checksum helpers, which also cope
 * with the partial checksums of offloading senders). Both forward by bpf_fib_lookup + redirect rather
 * than handing the packet to the kernel's forwarding: in full-NAT mode the rewritten source is one of
 * this host's own addresses, which the kernel's input routing would drop as a martian.
 *
 * Flows are keyed by the full 5-tuple in an LRU table, learned on SYN; the control plane expires them
 * (idle timeout, grace period after FIN/RST) from the timestamps kept here. A reverse table maps a
 * backend's packets to their client flow. Re-pointing a flow (proxy_repoint) is one compare-and-swap of
 * its entry's mapping word.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "proxy.h"
#include "tcx.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "struct proxy_flow's mapping word is read as backend in the low 32 bits, NAT port in the next 16"
#endif

#define AF_INET 2
#define AF_INET6 10
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
/* Interfaces the veth_egress set holds (Java: VethEgressMap). */
#define PROXY_MAX_INTERFACES 256

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROXY_MAX_SERVICES);
	__type(key, struct proxy_service_key);
	__type(value, struct proxy_service);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROXY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct proxy_backend);
} backends SEC(".maps");

/* Maglev lookup tables, PROXY_RING_SIZE slots per service id, each a backend index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROXY_MAX_SERVICES * PROXY_RING_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROXY_DEFAULT_FLOWS);
	__type(key, struct proxy_flow_key);
	__type(value, struct proxy_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROXY_DEFAULT_FLOWS);
	__type(key, struct proxy_flow_key);
	__type(value, struct proxy_reverse);
} reverse SEC(".maps");

/* Flows per backend for least-connections: counted up here, recounted by the control plane. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROXY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u64);
} backend_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROXY_MAX_SERVICES);
	__type(key, __u32);
	__type(value, __u64);
} round_robin SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROXY_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct proxy_counters);
} service_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROXY_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct proxy_counters);
} backend_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proxy_config);
} config SEC(".maps");

/* Backends of the full-NAT services that name one source address for all their backends: endpoint -> slot. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROXY_MAX_BACKENDS);
	__type(key, struct proxy_service_key);
	__type(value, __u32);
} snat_backends SEC(".maps");

/* The interfaces (ifindex, service id) that lead to those services' backends: where their forwarding comes from. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROXY_MAX_BACKENDS);
	__type(key, struct proxy_link);
	__type(value, __u32);
} snat_links SEC(".maps");

/*
 * Interfaces (ifindex) that are veths: TC hands a packet leaving through one of them straight to its
 * peer's ingress with bpf_redirect_peer, which skips a queue and a softirq pass per packet.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROXY_MAX_INTERFACES);
	__type(key, __u32);
	__type(value, __u32);
} veth_egress SEC(".maps");

enum verdict { V_PASS, V_DROP, V_FORWARD };

struct packet {
	struct proxy_flow_key key;
	__u32 l3_off;
	__u32 l4_off;
	__u32 len; /* bytes from the IP header on */
	__u32 ifindex; /* where it arrived */
	__u8 syn, ack, fin, rst;
};

/* The packet's new addresses and ports: the decision both entry points apply. */
struct rewrite {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
};

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* RFC 1624 eq. 3, HC' = ~(~HC + ~m + m'), on 16-bit words as they lie in memory (order-agnostic). */
static __always_inline void csum_replace4(__u16 *check, __u32 from, __u32 to)
{
	__u32 sum = (__u16)~*check;
	sum += (~from & 0xffff) + (~from >> 16) + (to & 0xffff) + (to >> 16);
	*check = ~csum_fold(sum);
}

static __always_inline void csum_replace2(__u16 *check, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~*check;
	sum += (__u16)~from + to;
	*check = ~csum_fold(sum);
}

#define PARSE_OTHER -1
#define PARSE_SHORT -2 /* the headers go on beyond data_end (TC: not in the linear area) */

/* Parses Ethernet + IPv4 (options allowed) or IPv6 (no extension headers) + TCP. */
static __always_inline int parse(void *data, void *data_end, struct packet *p)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return PARSE_SHORT;
	p->l3_off = sizeof(*eth);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + sizeof(*eth);
		if ((void *)(ip + 1) > data_end)
			return PARSE_SHORT;
		if (ip->version != 4 || ip->ihl < 5 || ip->protocol != IPPROTO_TCP)
			return PARSE_OTHER;
		/* A fragment carries no (or not only) one TCP header: never NAT it by a guess. */
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return PARSE_OTHER;
		p->l4_off = sizeof(*eth) + ip->ihl * 4;
		p->len = bpf_ntohs(ip->tot_len);
		p->key.family = AF_INET;
		p->key.src[0] = ip->saddr;
		p->key.dst[0] = ip->daddr;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + sizeof(*eth);
		if ((void *)(ip6 + 1) > data_end)
			return PARSE_SHORT;
		if (ip6->nexthdr != IPPROTO_TCP)
			return PARSE_OTHER;
		p->l4_off = sizeof(*eth) + sizeof(*ip6);
		p->len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		p->key.family = AF_INET6;
		__builtin_memcpy(p->key.src, &ip6->saddr, 16);
		__builtin_memcpy(p->key.dst, &ip6->daddr, 16);
	} else {
		return PARSE_OTHER;
	}
	struct tcphdr *tcp = data + p->l4_off;
	if ((void *)(tcp + 1) > data_end)
		return PARSE_SHORT;
	p->key.proto = IPPROTO_TCP;
	p->key.sport = tcp->source;
	p->key.dport = tcp->dest;
	p->syn = tcp->syn;
	p->ack = tcp->ack;
	p->fin = tcp->fin;
	p->rst = tcp->rst;
	return 0;
}

static __always_inline __u32 flow_hash(const struct proxy_flow_key *k)
{
	__u32 h = 0x9e3779b9;
	const __u32 *w = (const __u32 *)k;
#pragma unroll
	for (int i = 0; i < sizeof(*k) / 4; i++) {
		h ^= w[i];
		h *= 0x85ebca6b;
		h ^= h >> 13;
	}
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static __always_inline void count(void *map, __u32 index, __u64 bytes, int new_flow, int dropped)
{
	struct proxy_counters *c = bpf_map_lookup_elem(map, &index);
	if (!c)
		return;
	if (dropped) {
		c->dropped++;
		return;
	}
	c->packets++;
	c->bytes += bytes;
	c->new_flows += new_flow;
}

/* Picks the backend index of a new flow, or returns -1 when none takes new flows. */
static __always_inline long choose_backend(const struct proxy_service *svc, const struct proxy_flow_key *key)
{
	__u32 n = svc->candidate_count;
	if (n == 0 || n > PROXY_MAX_CANDIDATES || svc->id >= PROXY_MAX_SERVICES)
		return -1;
	if (svc->algorithm == PROXY_ROUND_ROBIN) {
		__u64 *rr = bpf_map_lookup_elem(&round_robin, &svc->id);
		if (!rr)
			return -1;
		__u32 i = (*rr)++ % n;
		if (i >= PROXY_MAX_CANDIDATES)
			return -1;
		return svc->candidates[i];
	}
	if (svc->algorithm == PROXY_LEAST_CONN) {
		__u64 best_load = ~0ULL;
		long best = -1;
		for (__u32 i = 0; i < PROXY_MAX_CANDIDATES; i++) {
			if (i >= n)
				break;
			__u32 b = svc->candidates[i];
			__u64 *load = bpf_map_lookup_elem(&backend_active, &b);
			if (load && *load < best_load) {
				best_load = *load;
				best = b;
			}
		}
		return best;
	}
	__u32 slot = svc->id * PROXY_RING_SIZE + flow_hash(key) % PROXY_RING_SIZE;
	__u32 *b = bpf_map_lookup_elem(&rings, &slot);
	if (!b || *b >= PROXY_MAX_BACKENDS)
		return -1;
	return *b;
}

static __always_inline void reverse_key(struct proxy_flow_key *rk, const struct proxy_backend *be,
					const struct proxy_flow_key *client, int full_nat, __u16 nat_port)
{
	__builtin_memcpy(rk->src, be->addr, 16);
	rk->sport = be->port;
	if (full_nat) {
		__builtin_memcpy(rk->dst, be->snat, 16);
		rk->dport = nat_port;
	} else {
		__builtin_memcpy(rk->dst, client->src, 16);
		rk->dport = client->sport;
	}
	rk->family = client->family;
	rk->proto = client->proto;
	rk->pad = 0;
}

static __always_inline void reservation_key(struct proxy_flow_key *hk, const struct proxy_backend *be,
					    const struct proxy_flow_key *client, __u16 nat_port)
{
	__builtin_memcpy(hk->src, client->dst, 16);
	hk->sport = client->dport;
	__builtin_memcpy(hk->dst, be->snat, 16);
	hk->dport = nat_port;
	hk->family = client->family;
	hk->proto = client->proto;
	hk->pad = 0;
}

static __always_inline int same_flow(const struct proxy_flow_key *a, const struct proxy_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 diff = 0;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / 4); i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/*
 * Takes a reverse-table entry for the flow: free, or already the same flow's. A flow learned again (its
 * client reusing its port for a new connection) finds its old entries, which it would otherwise leave
 * behind until it ends, and keeps its port; two CPUs learning one flow at once agree on one port.
 */
static __always_inline int take(const struct proxy_flow_key *k, const struct proxy_reverse *value)
{
	if (bpf_map_update_elem(&reverse, k, value, BPF_NOEXIST) == 0)
		return 1;
	struct proxy_reverse *old = bpf_map_lookup_elem(&reverse, k);
	if (!old || old->flags != value->flags || !same_flow(&old->client, &value->client))
		return 0;
	return bpf_map_update_elem(&reverse, k, value, BPF_ANY) == 0;
}

/* A new flow: choose a backend, reserve its reverse entry (full NAT: a free proxy port), record it. */
static __always_inline struct proxy_flow *learn(const struct proxy_service *svc, const struct proxy_flow_key *key, __u64 now)
{
	long chosen = choose_backend(svc, key);
	if (chosen < 0)
		return 0;
	__u32 b = chosen;
	struct proxy_backend *be = bpf_map_lookup_elem(&backends, &b);
	if (!be || !(be->flags & PROXY_BACKEND_IN_USE) || be->family != key->family)
		return 0;
	int full_nat = svc->flags & PROXY_FULL_NAT;
	struct proxy_reverse rev = { .client = *key, .backend = b };
	struct proxy_flow_key rk = {};
	__u16 nat_port = 0;
	if (full_nat) {
		__u32 zero = 0;
		struct proxy_config *cfg = bpf_map_lookup_elem(&config, &zero);
		if (!cfg || cfg->nat_port_max < cfg->nat_port_min)
			return 0;
		__u32 span = cfg->nat_port_max - cfg->nat_port_min + 1;
		__u32 start = flow_hash(key);
		int reserved = 0;
		int shared = svc->flags & PROXY_SHARED_SNAT;
		struct proxy_flow_key hk = {};
		struct proxy_reverse hold = { .client = *key, .backend = b, .flags = PROXY_REVERSE_RESERVATION };
		/* NO_EXIST makes the reservation atomic: two CPUs can never hand out the same port. With one
		 * source address for the service, the port is first reserved service-wide: a flow moved to
		 * another backend must find its port free there too (it is its restored socket's peer). */
		for (__u32 i = 0; i < 16; i++) {
			nat_port = bpf_htons(cfg->nat_port_min + (start + i * 7919) % span);
			if (shared) {
				reservation_key(&hk, be, key, nat_port);
				if (!take(&hk, &hold))
					continue;
			}
			reverse_key(&rk, be, key, 1, nat_port);
			if (take(&rk, &rev)) {
				reserved = 1;
				break;
			}
			if (shared)
				bpf_map_delete_elem(&reverse, &hk);
		}
		if (!reserved)
			return 0;
	} else {
		reverse_key(&rk, be, key, 0, 0);
		if (bpf_map_update_elem(&reverse, &rk, &rev, BPF_ANY))
			return 0;
	}
	struct proxy_flow f = { .last_seen_ns = now, .backend = b, .nat_port = nat_port };
	if (bpf_map_update_elem(&flows, key, &f, BPF_ANY))
		return 0;
	__u64 *load = bpf_map_lookup_elem(&backend_active, &b);
	if (load)
		__sync_fetch_and_add(load, 1);
	return bpf_map_lookup_elem(&flows, key);
}

static __always_inline void touch(struct proxy_flow *f, const struct packet *p, __u64 now)
{
	f->last_seen_ns = now;
	f->packets++;
	f->bytes += p->len;
	if ((p->fin || p->rst) && !f->closing_since_ns) {
		f->closing_since_ns = now;
		f->flags |= PROXY_FLOW_CLOSING;
	}
}

/*
 * Neither a client's packet nor a backend's reply. One kind is forwarded here: a live migration's source
 * sends the segments that still reach it on to the flow's new backend through this host. In full NAT
 * with one source address for the service their source is that address, this host's own, which the
 * kernel's forwarding drops as a martian; they go on unchanged. Only from that address to a backend of
 * that service, arriving by an interface that leads to one of its backends: anything else claiming this
 * host's address (a client's, say) is left to the kernel, which drops it. (In NAT mode they carry the
 * client's address, and the kernel forwards them.)
 */
static __always_inline enum verdict pass_or_forward(const struct packet *p, const struct proxy_service_key *destination,
						    struct rewrite *rw)
{
	__u32 *slot = bpf_map_lookup_elem(&snat_backends, destination);
	if (!slot)
		return V_PASS;
	struct proxy_backend *be = bpf_map_lookup_elem(&backends, slot);
	if (!be || !(be->flags & PROXY_BACKEND_IN_USE))
		return V_PASS;
	if ((be->snat[0] ^ p->key.src[0]) | (be->snat[1] ^ p->key.src[1]) | (be->snat[2] ^ p->key.src[2]) |
	    (be->snat[3] ^ p->key.src[3]))
		return V_PASS;
	struct proxy_link link = { .ifindex = p->ifindex, .service = be->service };
	if (!bpf_map_lookup_elem(&snat_links, &link))
		return V_PASS;
	__builtin_memcpy(rw->src, p->key.src, 16);
	__builtin_memcpy(rw->dst, p->key.dst, 16);
	rw->sport = p->key.sport;
	rw->dport = p->key.dport;
	return V_FORWARD;
}

static __always_inline enum verdict decide(struct packet *p, struct rewrite *rw)
{
	__u64 now = bpf_ktime_get_ns();
	struct proxy_service_key sk = { .port = p->key.dport, .family = p->key.family, .proto = p->key.proto };
	__builtin_memcpy(sk.addr, p->key.dst, 16);
	struct proxy_service *svc = bpf_map_lookup_elem(&services, &sk);
	if (svc) {
		__u32 sid = svc->id;
		struct proxy_flow *f = bpf_map_lookup_elem(&flows, &p->key);
		int fresh = 0;
		if (p->syn && !p->ack && (!f || f->closing_since_ns)) {
			f = learn(svc, &p->key, now);
			fresh = 1;
		}
		if (!f) {
			count(&service_counters, sid, 0, 0, 1);
			return V_DROP;
		}
		__u64 mapping = *(volatile __u64 *)&f->mapping;
		__u32 b = (__u32)mapping;
		struct proxy_backend *be = bpf_map_lookup_elem(&backends, &b);
		if (!be || !(be->flags & PROXY_BACKEND_IN_USE)) {
			count(&service_counters, sid, 0, 0, 1);
			return V_DROP;
		}
		touch(f, p, now);
		count(&service_counters, sid, p->len, fresh, 0);
		count(&backend_counters, b, p->len, fresh, 0);
		__builtin_memcpy(rw->dst, be->addr, 16);
		rw->dport = be->port;
		if (svc->flags & PROXY_FULL_NAT) {
			__builtin_memcpy(rw->src, be->snat, 16);
			rw->sport = (__u16)(mapping >> 32);
		} else {
			__builtin_memcpy(rw->src, p->key.src, 16);
			rw->sport = p->key.sport;
		}
		return V_FORWARD;
	}
	struct proxy_reverse *rev = bpf_map_lookup_elem(&reverse, &p->key);
	if (!rev)
		return pass_or_forward(p, &sk, rw);
	if (rev->flags & PROXY_REVERSE_RESERVATION)
		return V_PASS;
	struct proxy_flow *f = bpf_map_lookup_elem(&flows, &rev->client);
	if (!f)
		return V_DROP;
	/*
	 * A backend the flow was re-pointed away from (a live migration's source) keeps sending until it
	 * captures the connection: its ACKs of what it drained and data it wrote before the capture. Both are
	 * legitimate: the new backend's socket is restored with the same sequence state, so data the client
	 * already has is only acknowledged again there; and dropping the ACKs would leave the segments the
	 * client sent before the switch outstanding until the new backend's window probe, bringing its
	 * loss-probe timer closer. What it must not send:
	 * - RST: once captured, the old socket is closed in repair mode and the flow's next stray segment there
	 *   draws a reset, which would kill the connection the new backend now carries;
	 * - FIN: the old socket closing says nothing about the connection, which goes on at the new backend;
	 *   passing it would end the client's stream while the new backend still sends;
	 * - SYN: the handshake is over by the time a flow is re-pointed; a SYN-ACK from there belongs to no
	 *   connection the client has.
	 * The old backend's reverse entry stays until the flow's expiry removes it (or the LRU evicts it). If the
	 * client ends the connection and reuses the port for a new one (learned anew, perhaps at another
	 * backend), a leftover of the old connection from there still reaches it: a segment outside the new
	 * connection's sequence space, which TCP discards (answering at most with an ACK to the current
	 * backend), as it does any old duplicate; the three kinds that could hurt it are the ones dropped here.
	 */
	if (f->backend != rev->backend && (p->rst || p->fin || p->syn)) {
		count(&backend_counters, rev->backend, 0, 0, 1);
		return V_DROP;
	}
	touch(f, p, now);
	__u32 b = rev->backend;
	count(&backend_counters, b, p->len, 0, 0);
	__builtin_memcpy(rw->src, rev->client.dst, 16);
	rw->sport = rev->client.dport;
	__builtin_memcpy(rw->dst, rev->client.src, 16);
	rw->dport = rev->client.sport;
	return V_FORWARD;
}

static __always_inline int fib(void *ctx, struct bpf_fib_lookup *params, const struct packet *p,
			       const struct rewrite *rw, __u32 ifindex, __u16 tot_len)
{
	params->family = p->key.family;
	params->l4_protocol = IPPROTO_TCP;
	params->tot_len = tot_len;
	params->ifindex = ifindex;
	if (p->key.family == AF_INET) {
		params->ipv4_src = rw->src[0];
		params->ipv4_dst = rw->dst[0];
	} else {
		__builtin_memcpy(params->ipv6_src, rw->src, 16);
		__builtin_memcpy(params->ipv6_dst, rw->dst, 16);
	}
	return bpf_fib_lookup(ctx, params, sizeof(*params), 0);
}

SEC("xdp")
int proxy_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet p = {};
	/* Not TCP over IP, or a fragment: the kernel's forwarding handles it (a VIP has no route there). */
	if (parse(data, data_end, &p))
		return XDP_PASS;
	p.ifindex = ctx->ingress_ifindex;
	struct rewrite rw = {};
	enum verdict v = decide(&p, &rw);
	if (v == V_DROP)
		return XDP_DROP;
	if (v == V_PASS)
		return XDP_PASS;

	struct bpf_fib_lookup params = {};
	int rc = fib(ctx, &params, &p, &rw, ctx->ingress_ifindex, p.len);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	/*
	 * No neighbour for the next hop (a client the proxy never talked to yet): XDP cannot resolve it, so
	 * the rewritten packet goes to the kernel's forwarding, which resolves the neighbour and forwards it
	 * (and decrements the TTL itself). In full NAT towards a backend the source is this host's own
	 * address, which the kernel drops as a martian; health checks have resolved backends by then.
	 */
	int to_kernel = rc == BPF_FIB_LKUP_RET_NO_NEIGH;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (p.l4_off > 14 + 60)
		return XDP_DROP;
	struct tcphdr *tcp = data + p.l4_off;
	if ((void *)(tcp + 1) > data_end)
		return XDP_DROP;
	if (p.key.family == AF_INET) {
		struct iphdr *ip = data + sizeof(*eth);
		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		if (ip->ttl <= 1)
			return XDP_PASS; /* the kernel sends the ICMP time exceeded */
		if (!to_kernel) {
			__u16 old_ttl = *(__u16 *)&ip->ttl;
			ip->ttl--;
			csum_replace2(&ip->check, old_ttl, *(__u16 *)&ip->ttl);
		}
		csum_replace4(&ip->check, ip->saddr, rw.src[0]);
		csum_replace4(&ip->check, ip->daddr, rw.dst[0]);
		csum_replace4(&tcp->check, ip->saddr, rw.src[0]);
		csum_replace4(&tcp->check, ip->daddr, rw.dst[0]);
		ip->saddr = rw.src[0];
		ip->daddr = rw.dst[0];
	} else {
		struct ipv6hdr *ip6 = data + sizeof(*eth);
		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		if (ip6->hop_limit <= 1)
			return XDP_PASS;
		if (!to_kernel)
			ip6->hop_limit--;
		__u32 *s = (__u32 *)&ip6->saddr, *d = (__u32 *)&ip6->daddr;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			csum_replace4(&tcp->check, s[i], rw.src[i]);
			csum_replace4(&tcp->check, d[i], rw.dst[i]);
			s[i] = rw.src[i];
			d[i] = rw.dst[i];
		}
	}
	csum_replace2(&tcp->check, tcp->source, rw.sport);
	csum_replace2(&tcp->check, tcp->dest, rw.dport);
	tcp->source = rw.sport;
	tcp->dest = rw.dport;
	if (to_kernel)
		return XDP_PASS;
	__builtin_memcpy(eth->h_dest, params.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, params.smac, ETH_ALEN);
	return bpf_redirect(params.ifindex, 0);
}

static __always_inline int tc_replace4(struct __sk_buff *skb, __u32 ip_off, __u32 csum_off, __u32 field_off,
				       __u32 from, __u32 to, int ipv4)
{
	if (from == to)
		return 0;
	if (ipv4 && bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), from, to, 4))
		return -1;
	if (bpf_l4_csum_replace(skb, csum_off, from, to, BPF_F_PSEUDO_HDR | 4))
		return -1;
	return bpf_skb_store_bytes(skb, field_off, &to, 4, 0);
}

static __always_inline int tc_replace2(struct __sk_buff *skb, __u32 csum_off, __u32 field_off, __u16 from, __u16 to)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, csum_off, from, to, 2))
		return -1;
	return bpf_skb_store_bytes(skb, field_off, &to, 2, 0);
}

SEC("tc")
int proxy_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct packet p = {};
	int parsed = parse(data, data_end, &p);
	if (parsed == PARSE_SHORT) {
		/*
		 * Headers beyond the linear area: pull them in, but only then. Pulling on every packet would
		 * copy payload of (cloned, GSO) TCP packets into their heads.
		 */
		if (bpf_skb_pull_data(skb, skb->len < 14 + 60 + 20 ? skb->len : 14 + 60 + 20))
			return PASS_ON;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		__builtin_memset(&p, 0, sizeof(p));
		parsed = parse(data, data_end, &p);
	}
	if (parsed)
		return PASS_ON;
	p.ifindex = skb->ingress_ifindex;
	struct rewrite rw = {};
	enum verdict v = decide(&p, &rw);
	if (v == V_DROP)
		return TC_ACT_SHOT;
	if (v == V_PASS)
		return PASS_ON;

	struct bpf_fib_lookup params = {};
	/* tot_len 0: the helper then checks the MTU itself, knowing GSO packets are segmented later. */
	int rc = fib(skb, &params, &p, &rw, skb->ingress_ifindex, 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return PASS_ON;

	__u32 ip = p.l3_off, l4 = p.l4_off, csum = l4 + offsetof(struct tcphdr, check);
	int v4 = p.key.family == AF_INET;
	if (v4) {
		__u8 ttl;
		if (bpf_skb_load_bytes(skb, ip + offsetof(struct iphdr, ttl), &ttl, 1) || ttl <= 1)
			return PASS_ON;
		__u16 old_word = bpf_htons(((__u16)ttl << 8) | IPPROTO_TCP);
		__u16 new_word = bpf_htons(((__u16)(ttl - 1) << 8) | IPPROTO_TCP);
		__u8 new_ttl = ttl - 1;
		if (bpf_l3_csum_replace(skb, ip + offsetof(struct iphdr, check), old_word, new_word, 2) ||
		    bpf_skb_store_bytes(skb, ip + offsetof(struct iphdr, ttl), &new_ttl, 1, 0))
			return TC_ACT_SHOT;
		if (tc_replace4(skb, ip, csum, ip + offsetof(struct iphdr, saddr), p.key.src[0], rw.src[0], 1) ||
		    tc_replace4(skb, ip, csum, ip + offsetof(struct iphdr, daddr), p.key.dst[0], rw.dst[0], 1))
			return TC_ACT_SHOT;
	} else {
		__u8 hops;
		if (bpf_skb_load_bytes(skb, ip + offsetof(struct ipv6hdr, hop_limit), &hops, 1) || hops <= 1)
			return PASS_ON;
		hops--;
		if (bpf_skb_store_bytes(skb, ip + offsetof(struct ipv6hdr, hop_limit), &hops, 1, 0))
			return TC_ACT_SHOT;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			if (tc_replace4(skb, ip, csum, ip + offsetof(struct ipv6hdr, saddr) + 4 * i, p.key.src[i], rw.src[i], 0) ||
			    tc_replace4(skb, ip, csum, ip + offsetof(struct ipv6hdr, daddr) + 4 * i, p.key.dst[i], rw.dst[i], 0))
				return TC_ACT_SHOT;
		}
	}
	if (tc_replace2(skb, csum, l4 + offsetof(struct tcphdr, source), p.key.sport, rw.sport) ||
	    tc_replace2(skb, csum, l4 + offsetof(struct tcphdr, dest), p.key.dport, rw.dport))
		return TC_ACT_SHOT;
	__u32 out = params.ifindex;
	if (rc == BPF_FIB_LKUP_RET_SUCCESS && bpf_map_lookup_elem(&veth_egress, &out)) {
		if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), params.dmac, ETH_ALEN, 0) ||
		    bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_source), params.smac, ETH_ALEN, 0))
			return TC_ACT_SHOT;
		return bpf_redirect_peer(out, 0);
	}
	/* The neighbour subsystem fills in the MACs, resolving the next hop first if need be. */
	return bpf_redirect_neigh(out, 0, 0, 0);
}

/* For the far ends of veth pairs: a veth delivers XDP-redirected frames only to a peer running XDP. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

#define MAPPING_FLAGS 0xffff000000000000ULL

/* The control plane's re-pointing of one live flow, run from user space (BPF_PROG_RUN): the mapping word
 * is replaced in place, so whatever the data plane writes to the entry meanwhile (counters, last seen, the
 * closing mark) stays; writing back an entry read a moment before would have undone it. Only a change of
 * the flags (the data plane's) is retried: an LRU entry deleted meanwhile may already serve another flow,
 * whose mapping must not be overwritten. Returns 0 when re-pointed, 1 when there is no such flow (or it
 * was deleted under the swap), 2 when the flags kept changing. */
SEC("syscall")
int proxy_repoint(struct proxy_repoint *r)
{
	struct proxy_flow_key key;
	__builtin_memcpy(&key, &r->key, sizeof(key));
	struct proxy_flow *f = bpf_map_lookup_elem(&flows, &key);
	if (!f)
		return 1;
	__u64 want = (__u64)r->backend | (__u64)r->nat_port << 32;
	__u64 old = *(volatile __u64 *)&f->mapping;
	for (int i = 0; i < 16; i++) {
		__u64 next = want | (old & MAPPING_FLAGS);
		__u64 seen = __sync_val_compare_and_swap(&f->mapping, old, next);
		if (seen == old) {
			/* Still this flow's entry? If it was deleted and reused for another flow between the lookup
			 * and the swap, put the other flow's mapping back (unless it moved on) and report the flow gone. */
			if (bpf_map_lookup_elem(&flows, &key) == f)
				return 0;
			__sync_val_compare_and_swap(&f->mapping, next, old);
			return 1;
		}
		if ((seen ^ old) & ~MAPPING_FLAGS)
			return 1;
		old = seen;
	}
	return 2;
}
