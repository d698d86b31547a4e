// SPDX-License-Identifier: GPL-2.0
/* Closes the balanced connections to one real server: a TCP socket iterator (run in the service's
 * namespace) destroys every socket whose connect hook picked that real (its vs_socks storage says so),
 * and nothing else. The application sees ECONNABORTED and can reconnect through the balancer. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "connect_maps.h"

#define AF_INET 2
#define AF_INET6 10

char LICENSE[] SEC("license") = "GPL";

/* Just the kernel types this program touches, resolved against the running kernel's BTF (CO-RE). */
struct sock_common {
	unsigned short skc_family;
} __attribute__((preserve_access_index));

struct bpf_iter_meta {
	void *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	unsigned int uid;
} __attribute__((preserve_access_index));

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* The pinned storage of the connect hooks (reused by pin path when loading). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct vs_sock);
} vs_socks SEC(".maps");

/* [0]: the real id whose sockets to destroy; [1]: how many were destroyed. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} vs_close SEC(".maps");

SEC("iter/tcp")
int vs_close_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc || (skc->skc_family != AF_INET && skc->skc_family != AF_INET6))
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	struct vs_sock *state = bpf_sk_storage_get(&vs_socks, tp, 0, 0);
	__u32 zero = 0, one = 1;
	__u32 *target = bpf_map_lookup_elem(&vs_close, &zero);
	if (!state || !target || state->real_id != *target)
		return 0;
	if (bpf_sock_destroy(skc) == 0) {
		__u32 *count = bpf_map_lookup_elem(&vs_close, &one);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	return 0;
}
