// SPDX-License-Identifier: GPL-2.0
/* Connect-time balancing: a connect (or an unconnected UDP send) to a virtual address:port is rewritten,
 * before the kernel routes it, to a real server chosen by the service's scheduler. The application keeps
 * seeing the virtual address (getpeername, recvmsg), and after the connect no packet is touched again.
 * Services are keyed by the client's network namespace cookie, so one cgroup attachment can serve
 * several namespaces with different configurations. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "connect_maps.h"

#define ECONNREFUSED 111
#define SOCK_STREAM 1

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VS_MAX_SERVICES);
	__type(key, struct vs_key);
	__type(value, struct vs_service);
} vs_services SEC(".maps");

/* Sized for every service at its limits, allocated only as used (no preallocation). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VS_MAX_SERVICES * VS_MAX_REALS);
	__type(key, struct vs_real_key);
	__type(value, struct vs_real);
} vs_reals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VS_MAX_SERVICES * VS_MAX_RING);
	__type(key, struct vs_ring_key);
	__type(value, __u32);
} vs_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VS_MAX_SERVICES * VS_MAX_REALS);
	__type(key, __u32);
	__type(value, struct vs_stats);
} vs_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, VS_MAX_SERVICES);
	__type(key, __u32);
	__type(value, __u32);
} vs_cursor SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct vs_sock);
} vs_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct vs_udp_key);
	__type(value, struct vs_udp_value);
} vs_udp_forward SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct vs_udp_key);
	__type(value, struct vs_udp_value);
} vs_udp_reverse SEC(".maps");

/* The destination (or source) address of the call; returns its family. An IPv6 socket's IPv4-mapped
 * address (::ffff:a.b.c.d, what dual-stack clients such as Java use for IPv4) counts as IPv4, so IPv4
 * services apply to it. */
static __always_inline __u8 read_user_addr(struct bpf_sock_addr *ctx, __u8 sock_family, __u32 addr[4])
{
	if (sock_family == 4) {
		addr[0] = ctx->user_ip4;
		addr[1] = addr[2] = addr[3] = 0;
		return 4;
	}
	__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2], a3 = ctx->user_ip6[3];
	if (a0 == 0 && a1 == 0 && a2 == bpf_htonl(0x0000ffff)) {
		addr[0] = a3;
		addr[1] = addr[2] = addr[3] = 0;
		return 4;
	}
	addr[0] = a0;
	addr[1] = a1;
	addr[2] = a2;
	addr[3] = a3;
	return 6;
}

static __always_inline void write_user_addr(struct bpf_sock_addr *ctx, __u8 sock_family, __u8 addr_family,
					    const __u32 addr[4], __u16 port)
{
	if (sock_family == 4) {
		ctx->user_ip4 = addr[0];
	} else if (addr_family == 4) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
		ctx->user_ip6[3] = addr[0];
	} else {
		ctx->user_ip6[0] = addr[0];
		ctx->user_ip6[1] = addr[1];
		ctx->user_ip6[2] = addr[2];
		ctx->user_ip6[3] = addr[3];
	}
	ctx->user_port = port;
}

static __always_inline __u32 mix(__u64 x)
{
	/* splitmix64 finaliser: spreads netns cookies and addresses evenly over the ring */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (__u32)x;
}

/* Weighted least-connections: the real with the smallest active/weight, compared without division. */
static __always_inline int pick_least_connections(struct vs_service *svc, __u32 *index_out)
{
	__s64 best_active = 0;
	__u32 best_weight = 0;
	int found = 0;

	for (__u32 i = 0; i < VS_MAX_REALS; i++) {
		if (i >= svc->reals)
			break;
		struct vs_real_key rk = { .service = svc->id, .index = i };
		struct vs_real *real = bpf_map_lookup_elem(&vs_reals, &rk);
		if (!real || real->weight == 0)
			continue;
		__u32 id = real->id;
		struct vs_stats *st = bpf_map_lookup_elem(&vs_stats, &id);
		__s64 active = st ? st->active : 0;
		if (active < 0)
			active = 0;
		if (!found || active * best_weight < best_active * real->weight) {
			best_active = active;
			best_weight = real->weight;
			*index_out = i;
			found = 1;
		}
	}
	return found;
}

static __always_inline struct vs_real *pick(struct bpf_sock_addr *ctx, struct vs_service *svc, __u32 *index_out)
{
	__u32 ring = svc->ring_size;
	__u32 position;
	__u32 index;

	if (ring == 0 || ring > VS_MAX_RING)
		return 0;
	switch (svc->scheduler) {
	case VS_SCHED_LC:
		if (!pick_least_connections(svc, &index))
			return 0;
		goto found;
	case VS_SCHED_RANDOM:
		position = bpf_get_prandom_u32() % ring;
		break;
	case VS_SCHED_SH: {
		__u64 h = bpf_get_netns_cookie(ctx);
		struct bpf_sock *sk = ctx->sk;
		if (sk) {
			h ^= (__u64)sk->src_ip4 << 32;
			h ^= sk->src_ip6[0] ^ sk->src_ip6[1] ^ sk->src_ip6[2] ^ sk->src_ip6[3];
		}
		position = mix(h) % ring;
		break;
	}
	default: { /* rr and wrr differ only in how user space filled the ring */
		/* One cursor per CPU: no atomics on the connect path (and clang 14's BPF v1 target cannot
		 * use a fetch-and-add result); each CPU walks the whole ring, so the spread stays exact. */
		__u32 service = svc->id;
		__u32 *cursor = bpf_map_lookup_elem(&vs_cursor, &service);
		if (!cursor) {
			__u32 start = bpf_get_prandom_u32();
			bpf_map_update_elem(&vs_cursor, &service, &start, BPF_NOEXIST);
			cursor = bpf_map_lookup_elem(&vs_cursor, &service);
			if (!cursor)
				return 0;
		}
		position = (*cursor)++ % ring;
		break;
	}
	}
	struct vs_ring_key key = { .service = svc->id, .position = position };
	__u32 *slot = bpf_map_lookup_elem(&vs_ring, &key);
	if (!slot)
		return 0;
	index = *slot;
found:;
	struct vs_real_key rk = { .service = svc->id, .index = index };
	*index_out = index;
	return bpf_map_lookup_elem(&vs_reals, &rk);
}

static __always_inline struct vs_service *lookup_service(struct bpf_sock_addr *ctx, __u8 family, struct vs_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->netns = bpf_get_netns_cookie(ctx);
	key->family = read_user_addr(ctx, family, key->addr);
	key->port = (__u16)ctx->user_port;
	key->proto = (__u8)ctx->protocol;
	return bpf_map_lookup_elem(&vs_services, key);
}

static __always_inline void count_connection(__u32 real_id, int active)
{
	struct vs_stats *st = bpf_map_lookup_elem(&vs_stats, &real_id);
	if (!st)
		return;
	__sync_fetch_and_add(&st->connections, 1);
	if (active)
		__sync_fetch_and_add(&st->active, 1);
}

static __always_inline void release(struct vs_sock *state)
{
	if (!state->counted)
		return;
	state->counted = 0;
	__u32 id = state->real_id;
	struct vs_stats *st = bpf_map_lookup_elem(&vs_stats, &id);
	if (st)
		__sync_fetch_and_add(&st->active, -1);
}

static __always_inline void remember_udp(struct bpf_sock_addr *ctx, __u8 family, const struct vs_key *vip,
					 const struct vs_real *real)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	struct vs_udp_key fk = { .cookie = cookie, .port = vip->port, .family = family };
	struct vs_udp_value fv = { .port = real->port, .family = family, .real_id = real->id };
	struct vs_udp_key rk = { .cookie = cookie, .port = real->port, .family = family };
	struct vs_udp_value rv = { .port = vip->port, .family = family, .real_id = real->id };

	__builtin_memcpy(fk.addr, vip->addr, sizeof(fk.addr));
	__builtin_memcpy(fv.addr, real->addr, sizeof(fv.addr));
	__builtin_memcpy(rk.addr, real->addr, sizeof(rk.addr));
	__builtin_memcpy(rv.addr, vip->addr, sizeof(rv.addr));
	bpf_map_update_elem(&vs_udp_forward, &fk, &fv, BPF_ANY);
	bpf_map_update_elem(&vs_udp_reverse, &rk, &rv, BPF_ANY);
}

static __always_inline int refuse(void)
{
	/* Without this the kernel reports EPERM, which reads like a permission problem. */
	bpf_set_retval(-ECONNREFUSED);
	return 0;
}

static __always_inline int do_connect(struct bpf_sock_addr *ctx, __u8 family)
{
	struct vs_key key;
	struct vs_service *svc = lookup_service(ctx, family, &key);
	if (!svc)
		return 1;
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct vs_sock *state = bpf_sk_storage_get(&vs_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!state)
		return 1;

	/* A repeated connect on the same socket (non-blocking retry, UDP re-connect to the same service)
	 * keeps its real server while that still exists, and is not counted twice. */
	if (state->counted && state->service == svc->id && state->vport == key.port &&
	    state->vaddr[0] == key.addr[0] && state->vaddr[1] == key.addr[1] &&
	    state->vaddr[2] == key.addr[2] && state->vaddr[3] == key.addr[3]) {
		__u32 id = state->real_id;
		if (bpf_map_lookup_elem(&vs_stats, &id)) {
			write_user_addr(ctx, family, key.family, state->raddr, state->rport);
			return 1;
		}
	}
	release(state);

	__u32 index;
	struct vs_real *real = pick(ctx, svc, &index);
	if (!real)
		return refuse();

	__builtin_memcpy(state->vaddr, key.addr, sizeof(state->vaddr));
	state->vport = key.port;
	state->family = key.family;
	state->service = svc->id;
	state->real_id = real->id;
	__builtin_memcpy(state->raddr, real->addr, sizeof(state->raddr));
	state->rport = real->port;
	state->counted = 1;
	count_connection(real->id, 1);
	if (ctx->type != SOCK_STREAM)
		remember_udp(ctx, key.family, &key, real);
	write_user_addr(ctx, family, key.family, real->addr, real->port);
	return 1;
}

static __always_inline int do_sendmsg(struct bpf_sock_addr *ctx, __u8 family)
{
	struct vs_key key;
	struct vs_service *svc = lookup_service(ctx, family, &key);
	if (!svc)
		return 1;

	/* The socket's datagrams to one virtual address stick to one real server while it exists,
	 * so a request/response exchange over an unconnected socket stays with one server. */
	struct vs_udp_key fk = { .cookie = bpf_get_socket_cookie(ctx), .port = key.port, .family = key.family };
	__builtin_memcpy(fk.addr, key.addr, sizeof(fk.addr));
	struct vs_udp_value *sticky = bpf_map_lookup_elem(&vs_udp_forward, &fk);
	if (sticky) {
		__u32 id = sticky->real_id;
		if (bpf_map_lookup_elem(&vs_stats, &id)) {
			write_user_addr(ctx, family, key.family, sticky->addr, sticky->port);
			return 1;
		}
	}
	__u32 index;
	struct vs_real *real = pick(ctx, svc, &index);
	if (!real)
		return refuse();
	count_connection(real->id, 0);
	remember_udp(ctx, key.family, &key, real);
	write_user_addr(ctx, family, key.family, real->addr, real->port);
	return 1;
}

static __always_inline int do_recvmsg(struct bpf_sock_addr *ctx, __u8 family)
{
	struct vs_udp_key rk = { .cookie = bpf_get_socket_cookie(ctx), .port = (__u16)ctx->user_port };
	rk.family = read_user_addr(ctx, family, rk.addr);
	struct vs_udp_value *vip = bpf_map_lookup_elem(&vs_udp_reverse, &rk);
	if (vip)
		write_user_addr(ctx, family, rk.family, vip->addr, vip->port);
	return 1;
}

static __always_inline int do_getpeername(struct bpf_sock_addr *ctx, __u8 family)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct vs_sock *state = bpf_sk_storage_get(&vs_socks, sk, 0, 0);
	if (state && (state->family == 4 || family == 6))
		write_user_addr(ctx, family, state->family, state->vaddr, state->vport);
	return 1;
}

SEC("cgroup/connect4")
int vs_connect4(struct bpf_sock_addr *ctx) { return do_connect(ctx, 4); }

SEC("cgroup/connect6")
int vs_connect6(struct bpf_sock_addr *ctx) { return do_connect(ctx, 6); }

SEC("cgroup/sendmsg4")
int vs_sendmsg4(struct bpf_sock_addr *ctx) { return do_sendmsg(ctx, 4); }

SEC("cgroup/sendmsg6")
int vs_sendmsg6(struct bpf_sock_addr *ctx) { return do_sendmsg(ctx, 6); }

SEC("cgroup/recvmsg4")
int vs_recvmsg4(struct bpf_sock_addr *ctx) { return do_recvmsg(ctx, 4); }

SEC("cgroup/recvmsg6")
int vs_recvmsg6(struct bpf_sock_addr *ctx) { return do_recvmsg(ctx, 6); }

SEC("cgroup/getpeername4")
int vs_getpeername4(struct bpf_sock_addr *ctx) { return do_getpeername(ctx, 4); }

SEC("cgroup/getpeername6")
int vs_getpeername6(struct bpf_sock_addr *ctx) { return do_getpeername(ctx, 6); }

/* Least-connections needs to know when a balanced socket goes away: the last close of its fd. */
SEC("cgroup/sock_release")
int vs_sock_release(struct bpf_sock *ctx)
{
	struct vs_sock *state = bpf_sk_storage_get(&vs_socks, ctx, 0, 0);
	if (state)
		release(state);
	return 1;
}
