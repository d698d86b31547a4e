/* Layout of the connect-time balancer's maps. The Java views in io.socketlauncher.bpf.connect encode
 * exactly these structs (little-endian host, addresses and ports in network byte order). */
#ifndef CONNECT_MAPS_H
#define CONNECT_MAPS_H

#include <linux/types.h>

#define VS_MAX_SERVICES 1024
#define VS_MAX_REALS 64      /* per service: least-connections scans them all on each connect */
#define VS_MAX_RING 1024     /* per service: positions of the (weighted) schedule */

enum vs_scheduler {
	VS_SCHED_RR = 0,   /* round-robin over the ring (one slot per usable real) */
	VS_SCHED_WRR = 1,  /* round-robin over the ring (weight slots per real, interleaved) */
	VS_SCHED_RANDOM = 2, /* a random ring slot: weighted random */
	VS_SCHED_LC = 3,   /* fewest active connections per unit of weight */
	VS_SCHED_SH = 4,   /* hash of the client (netns cookie, bound source) onto the ring */
};

/* A virtual service as a client of one network namespace sees it. 32 bytes. */
struct vs_key {
	__u64 netns;     /* bpf_get_netns_cookie of the client's namespace */
	__u32 addr[4];   /* IPv4 in addr[0]; IPv6 in all four */
	__u16 port;
	__u8 proto;      /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;     /* 4 or 6 */
	__u32 pad;
};

/* 16 bytes. */
struct vs_service {
	__u32 id;
	__u32 scheduler;
	__u32 ring_size;   /* 0: no usable real server, connects fail with ECONNREFUSED */
	__u32 reals;       /* highest real index in use + 1 */
};

struct vs_real_key {
	__u32 service;
	__u32 index;       /* < VS_MAX_REALS */
};

/* 32 bytes. */
struct vs_real {
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 pad;
	__u32 weight;      /* 0: drained, gets no new connections */
	__u32 id;          /* unique over the map's lifetime: counters and sockets refer to it */
	__u32 pad2;
};

struct vs_ring_key {
	__u32 service;
	__u32 position;
};

/* Counters per real server id; the entry is deleted with the real, so late releases find nothing. */
struct vs_stats {
	__s64 active;      /* sockets balanced to it and not yet released */
	__u64 connections; /* balanced connects (and first datagrams of unconnected UDP sockets) */
};

/* Per balanced socket (sk_storage): what the application asked for and where it went. */
struct vs_sock {
	__u32 vaddr[4];
	__u16 vport;
	__u8 family;
	__u8 counted;      /* 1 while it holds one unit of vs_stats.active */
	__u32 service;
	__u32 real_id;
	__u32 raddr[4];
	__u16 rport;
	__u16 pad;
};

/* Unconnected UDP: which real a socket's datagrams to a virtual address go to, and back. */
struct vs_udp_key {
	__u64 cookie;
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 pad;
	__u32 pad2;
};

struct vs_udp_value {
	__u32 addr[4];
	__u16 port;
	__u8 family;
	__u8 pad;
	__u32 real_id;
};

#endif
