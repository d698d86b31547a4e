/* Map layouts of proxy.bpf.c, shared with the Java views in io.socketlauncher.bpf.proxy (keep in step). */
#ifndef SOCKET_LAUNCHER_PROXY_H
#define SOCKET_LAUNCHER_PROXY_H

#include <linux/types.h>

#define PROXY_MAX_SERVICES 16
#define PROXY_MAX_BACKENDS 256
/* Maglev lookup table length per service: a prime, as Maglev needs. */
#define PROXY_RING_SIZE 65537
/* Backends a service lists for round-robin and least-connections (Maglev uses the ring). */
#define PROXY_MAX_CANDIDATES 32
#define PROXY_DEFAULT_FLOWS 131072

/* Addresses are four 32-bit words so IPv6 fits; IPv4 uses word 0 and leaves the rest zero. A TCP endpoint: a
 * service's virtual address (services), or where a backend listens (snat_backends). */
struct proxy_service_key {
	__u32 addr[4];
	__u16 port; /* network order */
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 proto; /* IPPROTO_TCP */
};

#define PROXY_FULL_NAT 1u
/* Full NAT with one source address for every backend: proxy ports are reserved across the service,
 * so a flow keeps its port wherever it moves. */
#define PROXY_SHARED_SNAT 2u

/* An interface that leads to a backend of a service (the snat_links set). */
struct proxy_link {
	__u32 ifindex;
	__u32 service;
};


enum proxy_algorithm { PROXY_MAGLEV = 0, PROXY_ROUND_ROBIN = 1, PROXY_LEAST_CONN = 2 };

struct proxy_service {
	__u32 id; /* index into the ring and the per-service counters */
	__u32 flags; /* PROXY_FULL_NAT, PROXY_SHARED_SNAT */
	__u32 algorithm;
	__u32 candidate_count; /* 0: no backend takes new flows */
	__u32 candidates[PROXY_MAX_CANDIDATES];
};

#define PROXY_BACKEND_IN_USE 1u

struct proxy_backend {
	__u32 addr[4];
	__u32 snat[4]; /* full NAT: the proxy's source address towards this backend */
	__u16 port; /* network order */
	__u8 family;
	__u8 flags;
	__u32 service;
};

/* A flow as the client sent it: client -> VIP; or, in the reverse table, backend -> client/proxy. */
struct proxy_flow_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport; /* network order */
	__u16 dport;
	__u8 family;
	__u8 proto;
	__u16 pad;
};

#define PROXY_FLOW_CLOSING 1u

struct proxy_flow {
	__u64 last_seen_ns; /* bpf_ktime_get_ns() of the latest packet either way */
	__u64 closing_since_ns; /* first FIN or RST, 0 while open */
	__u64 packets;
	__u64 bytes;
	/* One aligned word: the data plane reads backend and NAT port in one load, and a re-pointing
	 * (proxy_repoint) replaces both with one compare-and-swap, so no packet pairs the backend of one
	 * mapping with the NAT port of another. */
	union {
		struct {
			__u32 backend;
			__u16 nat_port; /* full NAT: the proxy's source port, network order */
			__u16 flags;
		};
		__u64 mapping;
	};
};

/* proxy_repoint's argument: the flow and the mapping it is to have. */
struct proxy_repoint {
	struct proxy_flow_key key;
	__u32 backend;
	__u16 nat_port; /* network order */
	__u16 pad;
};

/* A reverse-table entry that only reserves a shared source address's port for a flow, service-wide:
 * keyed (VIP, VIP port) -> (source address, port), which no packet of the service carries. */
#define PROXY_REVERSE_RESERVATION 1u

/* Reverse table value: which client flow a backend's packet belongs to, and through which backend. */
struct proxy_reverse {
	struct proxy_flow_key client;
	__u32 backend;
	__u32 flags; /* PROXY_REVERSE_RESERVATION */
};

struct proxy_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 dropped;
};

struct proxy_config {
	__u16 nat_port_min; /* host order */
	__u16 nat_port_max;
	__u32 pad;
};

#endif
