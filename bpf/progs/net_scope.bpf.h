/* Network scope, attached to the session's cgroup: connect, unconnected
 * sendmsg and bind for IPv4 and IPv6, and socket creation; decisions are
 * made on the kernel's copy of the sockaddr (struct bpf_sock_addr), never
 * on a user pointer read again later. Part of session.bpf.c. */
#pragma once

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_TYPE_MASK 0xf
#define SBX_IPPROTO_TCP 6 /* the uapi enum, not in vmlinux.h here */
#define SBX_IPPROTO_UDP 17

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, SBX_MAX_NET_RULES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sbx_net_key);
    __type(value, struct sbx_net_ports);
} allow_connect SEC(".maps");

/* The agent threads whose connect or bind the hooks below have seen and
 * let through, until the call's exit (net_exits.bpf.h): an EACCES there
 * then came from the kernel after the hook (a broadcast address without
 * SO_BROADCAST, a privileged port), not from Landlock, which runs before
 * any hook. Cleared as each connect and bind begins. LRU: a full map
 * (1,024 threads each with a mark whose exit was not seen) drops the
 * oldest rather than refuse a new one. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64); /* bpf_get_current_pid_tgid() */
    __type(value, __u8);
} net_hook_passed SEC(".maps");

static __always_inline void mark_hook_passed(void) {
    __u64 thread = bpf_get_current_pid_tgid();
    __u8 mark = 1;
    bpf_map_update_elem(&net_hook_passed, &thread, &mark, BPF_ANY);
}

static __always_inline void emit(struct sbx_config* cfg, __u32 kind, __u32 decision, __u16 family, __u16 port,
                                 __u32 protocol, const __u8* addr, __u32 so_far) {
    struct sbx_net_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&cfg->dropped, 1);
        return;
    }
    e->so_far = so_far;
    e->h.time_ns = bpf_ktime_get_ns();
    e->h.kind = kind;
    e->decision = decision;
    e->family = family;
    e->port = port;
    e->protocol = protocol;
    e->layer = SBX_LAYER_CGROUP;
    __builtin_memset(e->addr, 0, sizeof(e->addr));
    if (addr) __builtin_memcpy(e->addr, addr, 16);
    if (kind == SBX_EV_INBOUND || kind == SBX_EV_OUTBOUND) {
        /* A packet arrives in no thread of the session, and one may leave
         * from none (a retransmission): no pid or comm. */
        e->h.pid = 0;
        __builtin_memset(e->comm, 0, sizeof(e->comm));
    } else {
        e->h.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(e->comm, sizeof(e->comm));
    }
    bpf_ringbuf_submit(e, wakeup());
}

/* 1 lets the call through, 0 makes it fail with EPERM. */
static __always_inline int verdict(__u32 kind, int allowed, __u16 family, __u16 port, __u32 protocol,
                                   const __u8* addr) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg) return 0;
    __u32 decision = allowed ? SBX_ALLOW : (cfg->audit ? SBX_AUDIT : SBX_DENY);
    /* A loop of sends must not fill the host's disk with journal lines, nor
     * crowd refusals out of the ring: past the first SBX_NET_EVENTS_IN_FULL
     * decisions of each kind only every power of two is journaled (with
     * the count), and an allowed one is left out of a ring more than half
     * full. The totals are journaled at the end. */
    __u64* count = allowed ? &cfg->net_allowed : &cfg->net_refused;
    __sync_fetch_and_add(count, 1);
    __u64 n = *count;
    int journaled = n <= SBX_NET_EVENTS_IN_FULL || (n & (n - 1)) == 0;
    if (journaled && allowed && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > SBX_EVENTS_RING_BYTES / 2)
        journaled = 0;
    if (journaled)
        emit(cfg, kind, decision, family, port, protocol, addr, n > SBX_NET_EVENTS_IN_FULL ? (__u32)n : 0);
    else
        __sync_fetch_and_add(&cfg->net_unjournaled, 1);
    if (decision != SBX_DENY && (kind == SBX_EV_CONNECT || kind == SBX_EV_BIND)) mark_hook_passed();
    return decision != SBX_DENY;
}

static __always_inline int port_allowed(const struct sbx_net_ports* p, __u16 port) {
    if (!p) return 0;
    return (p->bits[port >> 6] >> (port & 63)) & 1;
}

static __always_inline int check4(struct bpf_sock_addr* ctx, __u32 kind) {
    struct sbx_net_key key;
    /* Zeroed by hand: an initialiser would be copied from .rodata, and a
     * .rodata map costs one bind syscall per program at every load. */
    __builtin_memset(&key, 0, sizeof(key));
    key.prefixlen = 128;
    key.addr[10] = 0xff;
    key.addr[11] = 0xff;
    __u32 ip = ctx->user_ip4; /* network byte order */
    __builtin_memcpy(&key.addr[12], &ip, 4);
    __u16 port = bpf_ntohs((__u16)ctx->user_port);
    int ok = port_allowed(bpf_map_lookup_elem(&allow_connect, &key), port);
    return verdict(kind, ok, AF_INET, port, ctx->type, key.addr);
}

static __always_inline int check6(struct bpf_sock_addr* ctx, __u32 kind) {
    struct sbx_net_key key;
    /* Zeroed by hand: an initialiser would be copied from .rodata, and a
     * .rodata map costs one bind syscall per program at every load. */
    __builtin_memset(&key, 0, sizeof(key));
    key.prefixlen = 128;
    __u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1], w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];
    __builtin_memcpy(&key.addr[0], &w0, 4);
    __builtin_memcpy(&key.addr[4], &w1, 4);
    __builtin_memcpy(&key.addr[8], &w2, 4);
    __builtin_memcpy(&key.addr[12], &w3, 4);
    __u16 port = bpf_ntohs((__u16)ctx->user_port);
    int ok = port_allowed(bpf_map_lookup_elem(&allow_connect, &key), port);
    return verdict(kind, ok, AF_INET6, port, ctx->type, key.addr);
}

SEC("cgroup/connect4") int sbx_connect4(struct bpf_sock_addr* ctx) { return check4(ctx, SBX_EV_CONNECT); }
SEC("cgroup/connect6") int sbx_connect6(struct bpf_sock_addr* ctx) { return check6(ctx, SBX_EV_CONNECT); }
SEC("cgroup/sendmsg4") int sbx_sendmsg4(struct bpf_sock_addr* ctx) { return check4(ctx, SBX_EV_SENDMSG); }
SEC("cgroup/sendmsg6") int sbx_sendmsg6(struct bpf_sock_addr* ctx) { return check6(ctx, SBX_EV_SENDMSG); }

/* No profile key grants listening yet: every explicit bind is refused. */
/* Unix sockets (connect_unix, sendmsg_unix; Linux 6.7+). Only the snapshot
 * gate may connect one: a supervisor thread outside the session's cgroup,
 * or the session's init on its behalf (connector_tgid), after the gate
 * resolved the path as the agent and checked it is in read scope.
 * An agent thread that gets here went around the gate (it rewrote its
 * sockaddr after the gate looked, or sent a datagram to a path): refused.
 * libbpf 1.1 predates these attach types; the loader sets them. */
static __always_inline int unix_check(__u32 kind) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg) return 0;
    if (bpf_get_current_cgroup_id() != cfg->cgroup_id) return 1;
    if (kind == SBX_EV_CONNECT && cfg->connector_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg->connector_tgid)
        return 1;
    return verdict(kind, 0, AF_UNIX, 0, 0, 0);
}

SEC("cgroup/connect4") int sbx_connect_unix(struct bpf_sock_addr* ctx) { return unix_check(SBX_EV_CONNECT); }
SEC("cgroup/sendmsg4") int sbx_sendmsg_unix(struct bpf_sock_addr* ctx) { return unix_check(SBX_EV_SENDMSG); }

/* A bind the snapshot gate makes for the agent (where names are guarded)
 * is judged here all the same, by the socket's cgroup, but journaled by the
 * gate, with the agent's pid: the caller here is the gate's thread. */
static __always_inline int bind_verdict(__u16 family, __u16 port, __u32 type, const __u8* addr) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg) return 0;
    if (bpf_get_current_cgroup_id() != cfg->cgroup_id) return cfg->audit ? 1 : 0;
    return verdict(SBX_EV_BIND, 0, family, port, type, addr);
}

SEC("cgroup/bind4") int sbx_bind4(struct bpf_sock_addr* ctx) {
    __u8 addr[16] = {};
    addr[10] = addr[11] = 0xff;
    __u32 ip = ctx->user_ip4;
    __builtin_memcpy(&addr[12], &ip, 4);
    return bind_verdict(AF_INET, bpf_ntohs((__u16)ctx->user_port), ctx->type, addr);
}
SEC("cgroup/bind6") int sbx_bind6(struct bpf_sock_addr* ctx) {
    return bind_verdict(AF_INET6, bpf_ntohs((__u16)ctx->user_port), ctx->type, 0);
}

/* Traffic in. No profile key grants bind, and the bind hooks above refuse
 * it, but the kernel binds a socket to a port of its choosing with no hook
 * in the way: listen() on a socket never bound, and a UDP send (even one
 * that then fails, send() with no address). So:
 *   - every packet for a listening socket of the session (a SYN: the
 *     kernel runs this for the socket it delivers to) is dropped, and no
 *     connection is ever made to the session;
 *   - a datagram for an unconnected UDP socket of the session gets in only
 *     from an address and port the profile lets the agent send to (the
 *     answer of a DNS server it asked); a connected one hears only from
 *     its peer, which the connect hook allowed.
 * Refusals are journaled the 1st, 2nd, 4th, 8th... time, so that a flood
 * from outside cannot flood the journal: the count says how many. */
#define SBX_ETH_P_IP 0x0800
#define SBX_ETH_P_IPV6 0x86DD
#define SBX_TCP_CLOSE 7 /* an unconnected UDP socket's state */

/* The source of the packet (it starts at its IP header here) as the LPM
 * key, and its UDP source port; 0 when they cannot be read (IPv6 with more
 * extension headers than are walked: dropped). */
static __always_inline int packet_source(struct __sk_buff* skb, struct sbx_net_key* key, __u16* port) {
    __builtin_memset(key, 0, sizeof(*key));
    key->prefixlen = 128;
    __u32 l4 = 0;
    if (skb->protocol == bpf_htons(SBX_ETH_P_IP)) {
        __u8 vihl = 0;
        if (bpf_skb_load_bytes(skb, 0, &vihl, 1) < 0) return 0;
        key->addr[10] = key->addr[11] = 0xff;
        if (bpf_skb_load_bytes(skb, 12, &key->addr[12], 4) < 0) return 0;
        l4 = (vihl & 0x0f) * 4;
    } else if (skb->protocol == bpf_htons(SBX_ETH_P_IPV6)) {
        if (bpf_skb_load_bytes(skb, 8, key->addr, 16) < 0) return 0;
        __u8 next = 0;
        if (bpf_skb_load_bytes(skb, 6, &next, 1) < 0) return 0;
        l4 = 40;
        /* A bounded loop (the verifier takes those since Linux 5.3). */
        for (int i = 0; i < 4 && next != SBX_IPPROTO_UDP; ++i) {
            __u8 ext[2] = {};
            if (next != 0 && next != 43 && next != 44 && next != 60) return 0; /* hop-by-hop, routing, fragment, options */
            if (bpf_skb_load_bytes(skb, l4, ext, 2) < 0) return 0;
            l4 += next == 44 ? 8 : (ext[1] + 1) * 8;
            next = ext[0];
        }
        if (next != SBX_IPPROTO_UDP) return 0;
    } else {
        return 0;
    }
    __u16 sport = 0;
    if (bpf_skb_load_bytes(skb, l4, &sport, 2) < 0) return 0;
    *port = bpf_ntohs(sport);
    return 1;
}

/* A packet refused on its way in or out: counted, and journaled the 1st,
 * 2nd, 4th... time with the count (kind's own counter). 1 lets it pass
 * (audit mode), 0 drops it. */
static __always_inline int packet_refused(__u32 kind, __u16 family, __u16 port, const __u8* addr) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg) return 0;
    __u64* refused = kind == SBX_EV_INBOUND ? &cfg->inbound_refused : &cfg->outbound_refused;
    __sync_fetch_and_add(refused, 1);
    __u64 n = *refused;
    __u32 decision = cfg->audit ? SBX_AUDIT : SBX_DENY;
    if ((n & (n - 1)) == 0) emit(cfg, kind, decision, family, port, (__u32)n, addr, 0);
    return decision != SBX_DENY;
}

SEC("cgroup_skb/ingress") int sbx_ingress(struct __sk_buff* skb) {
    struct bpf_sock* sk = skb->sk;
    if (!sk) return 1;
    sk = bpf_sk_fullsock(sk);
    if (!sk) return 1;
    int listening = sk->state == BPF_TCP_LISTEN;
    int open_udp = sk->type == SOCK_DGRAM && sk->protocol == SBX_IPPROTO_UDP && sk->state == SBX_TCP_CLOSE;
    if (!listening && !open_udp) return 1;
    struct sbx_net_key key;
    __u16 sport = 0;
    int known = packet_source(skb, &key, &sport);
    if (open_udp && known && port_allowed(bpf_map_lookup_elem(&allow_connect, &key), sport)) return 1;
    /* src_port: host byte order */
    return packet_refused(SBX_EV_INBOUND, listening ? SOCK_STREAM : SOCK_DGRAM, (__u16)sk->src_port, key.addr);
}

/* Traffic out: where each packet of a session socket goes, read from its
 * own headers. The connect and sendmsg hooks judge the address the caller
 * named; options can send the packet elsewhere (an IPv6 routing header,
 * set with setsockopt or in a message's control data, makes its first
 * segment the packet's destination). So every packet must go to an
 * address and port a connect entry names, or is dropped (a UDP send then
 * fails with EPERM). A routing header is never let out at all; a fragment
 * after the first, which has no ports, needs only the address. Refusals
 * are journaled the 1st, 2nd, 4th... time, with the count. */
#define SBX_IPPROTO_ROUTING 43
#define SBX_IPPROTO_FRAGMENT 44

static __always_inline int packet_destination(struct __sk_buff* skb, struct sbx_net_key* key, __u16* port,
                                              int* any_port) {
    __builtin_memset(key, 0, sizeof(*key));
    key->prefixlen = 128;
    __u32 l4 = 0;
    __u8 proto = 0;
    if (skb->protocol == bpf_htons(SBX_ETH_P_IP)) {
        __u8 head[20];
        if (bpf_skb_load_bytes(skb, 0, head, sizeof(head)) < 0) return 0;
        key->addr[10] = key->addr[11] = 0xff;
        __builtin_memcpy(&key->addr[12], &head[16], 4);
        if (((head[6] << 8) | head[7]) & 0x1fff) {
            *any_port = 1;
            return 1;
        }
        l4 = (head[0] & 0x0f) * 4;
        proto = head[9];
    } else if (skb->protocol == bpf_htons(SBX_ETH_P_IPV6)) {
        if (bpf_skb_load_bytes(skb, 24, key->addr, 16) < 0) return 0;
        if (bpf_skb_load_bytes(skb, 6, &proto, 1) < 0) return 0;
        l4 = 40;
        for (int i = 0; i < 4 && proto != SBX_IPPROTO_TCP && proto != SBX_IPPROTO_UDP; ++i) {
            __u8 ext[4] = {};
            if (proto != 0 && proto != SBX_IPPROTO_FRAGMENT && proto != 60) return 0; /* routing, or unknown */
            if (bpf_skb_load_bytes(skb, l4, ext, 4) < 0) return 0;
            if (proto == SBX_IPPROTO_FRAGMENT && (((ext[2] << 8) | ext[3]) & 0xfff8)) {
                *any_port = 1;
                return 1;
            }
            l4 += proto == SBX_IPPROTO_FRAGMENT ? 8 : (ext[1] + 1) * 8;
            proto = ext[0];
        }
    } else {
        return 0;
    }
    if (proto != SBX_IPPROTO_TCP && proto != SBX_IPPROTO_UDP) return 0;
    __u16 dport = 0;
    if (bpf_skb_load_bytes(skb, l4 + 2, &dport, 2) < 0) return 0;
    *port = bpf_ntohs(dport);
    return 1;
}

SEC("cgroup_skb/egress") int sbx_egress(struct __sk_buff* skb) {
    struct sbx_net_key key;
    __u16 port = 0;
    int any_port = 0;
    if (packet_destination(skb, &key, &port, &any_port)) {
        struct sbx_net_ports* p = bpf_map_lookup_elem(&allow_connect, &key);
        if (p && (any_port || port_allowed(p, port))) return 1;
    }
    return packet_refused(SBX_EV_OUTBOUND, skb->protocol == bpf_htons(SBX_ETH_P_IP) ? AF_INET : AF_INET6, port,
                          key.addr);
}

/* IPv4/IPv6 sockets: TCP and UDP only. The connect and sendmsg hooks above
 * are what the network scope rests on, and other protocols pass them by:
 * an ICMP echo socket (SOCK_DGRAM, open to every group where systemd's
 * sysctl defaults apply) sends its payload to any address with no sendmsg
 * hook; SCTP (SOCK_STREAM too) and MPTCP, whose path manager opens subflows
 * of its own, are left out rather than reasoned about. Raw sockets and
 * other types never get here as allowed. The kernel runs this hook for
 * IPv4 and IPv6 sockets only; other families are refused by the seccomp
 * baseline (@socket-families). By now the kernel has put its default
 * protocol in place of a 0. */
static __always_inline int counted_socket(const struct bpf_sock* sk) {
    __u32 type = sk->type & SOCK_TYPE_MASK;
    return (sk->family == AF_INET || sk->family == AF_INET6) &&
           ((type == SOCK_STREAM && sk->protocol == SBX_IPPROTO_TCP) ||
            (type == SOCK_DGRAM && sk->protocol == SBX_IPPROTO_UDP));
}

SEC("cgroup/sock_create") int sbx_sock_create(struct bpf_sock* sk) {
    __u32 family = sk->family, type = sk->type & SOCK_TYPE_MASK, protocol = sk->protocol;
    if (family != AF_INET && family != AF_INET6) return 1;
    if (!counted_socket(sk)) return verdict(SBX_EV_SOCKET, 0, (__u16)family, (__u16)type, protocol, 0);
    /* Allowed sockets are counted, not logged one by one; past the limit,
     * refused (sbx_sock_release counts them down again). */
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg) return 0;
    __sync_fetch_and_add(&cfg->inet_sockets, 1);
    /* Signed: see sbx_sock_release. */
    if (!cfg->inet_sockets_max || (__s64)cfg->inet_sockets <= (__s64)cfg->inet_sockets_max) return 1;
    if (verdict(SBX_EV_SOCKET_LIMIT, 0, (__u16)family, (__u16)type, protocol, 0)) return 1; /* audit */
    __sync_fetch_and_add(&cfg->inet_sockets, -1);
    return 0;
}

/* A socket accept() made is released here too (it takes its listener's
 * cgroup) but was never created through sbx_sock_create: the count would
 * go below zero, and compared unsigned, every later socket was over the
 * limit (a red-team finding, in audit mode, where connections reach the
 * session's listeners). So it stops at zero (two releases racing past the
 * check leave it at -1 at worst, which the signed compare above takes as
 * room): a session can hold a few sockets past the limit, never none. */
SEC("cgroup/sock_release") int sbx_sock_release(struct bpf_sock* sk) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (cfg && counted_socket(sk) && (__s64)cfg->inet_sockets > 0) __sync_fetch_and_add(&cfg->inet_sockets, -1);
    return 1;
}
