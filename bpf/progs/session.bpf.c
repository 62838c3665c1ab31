/* A session's BPF programs. Network scope, attached to its cgroup: connect,
 * unconnected sendmsg and bind for IPv4 and IPv6, and socket creation;
 * decisions are made on the kernel's copy of the sockaddr (struct
 * bpf_sock_addr), never on a user pointer read again later. Event stream:
 * every exec in the session. See sandboxd_bpf.h for the maps. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sandboxd_bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_TYPE_MASK 0xf

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, SBX_MAX_NET_RULES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sbx_net_key);
    __type(value, struct sbx_net_ports);
} allow_connect SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sbx_config);
} config SEC(".maps");

static __always_inline void emit(struct sbx_config* cfg, __u32 kind, __u32 decision, __u16 family, __u16 port,
                                 __u32 protocol, const __u8* addr) {
    struct sbx_net_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&cfg->dropped, 1);
        return;
    }
    e->h.time_ns = bpf_ktime_get_ns();
    e->h.pid = bpf_get_current_pid_tgid() >> 32;
    e->h.kind = kind;
    e->decision = decision;
    e->family = family;
    e->port = port;
    e->protocol = protocol;
    __builtin_memset(e->addr, 0, sizeof(e->addr));
    if (addr) __builtin_memcpy(e->addr, addr, 16);
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
}

/* 1 lets the call through, 0 makes it fail with EPERM. */
static __always_inline int verdict(__u32 kind, int allowed, __u16 family, __u16 port, __u32 protocol,
                                   const __u8* addr) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg) return 0;
    __u32 decision = allowed ? SBX_ALLOW : (cfg->audit ? SBX_AUDIT : SBX_DENY);
    emit(cfg, kind, decision, family, port, protocol, addr);
    return decision != SBX_DENY;
}

static __always_inline int port_allowed(const struct sbx_net_ports* p, __u16 port) {
    if (!p) return 0;
    return (p->bits[port >> 6] >> (port & 63)) & 1;
}

static __always_inline int check4(struct bpf_sock_addr* ctx, __u32 kind) {
    struct sbx_net_key key = {.prefixlen = 128};
    key.addr[10] = 0xff;
    key.addr[11] = 0xff;
    __u32 ip = ctx->user_ip4; /* network byte order */
    __builtin_memcpy(&key.addr[12], &ip, 4);
    __u16 port = bpf_ntohs((__u16)ctx->user_port);
    int ok = port_allowed(bpf_map_lookup_elem(&allow_connect, &key), port);
    return verdict(kind, ok, AF_INET, port, ctx->type, key.addr);
}

static __always_inline int check6(struct bpf_sock_addr* ctx, __u32 kind) {
    struct sbx_net_key key = {.prefixlen = 128};
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
SEC("cgroup/bind4") int sbx_bind4(struct bpf_sock_addr* ctx) {
    __u8 addr[16] = {};
    addr[10] = addr[11] = 0xff;
    __u32 ip = ctx->user_ip4;
    __builtin_memcpy(&addr[12], &ip, 4);
    return verdict(SBX_EV_BIND, 0, AF_INET, bpf_ntohs((__u16)ctx->user_port), ctx->type, addr);
}
SEC("cgroup/bind6") int sbx_bind6(struct bpf_sock_addr* ctx) {
    return verdict(SBX_EV_BIND, 0, AF_INET6, bpf_ntohs((__u16)ctx->user_port), ctx->type, 0);
}

/* IPv4/IPv6 sockets: stream and datagram only (no raw, no SCTP/DCCP-style
 * types). The kernel runs this hook for IPv4 and IPv6 sockets only; other
 * families are refused by the seccomp baseline (@socket-families). */
SEC("cgroup/sock_create") int sbx_sock_create(struct bpf_sock* sk) {
    __u32 family = sk->family, type = sk->type & SOCK_TYPE_MASK, protocol = sk->protocol;
    int ok = (family != AF_INET && family != AF_INET6) || type == SOCK_STREAM || type == SOCK_DGRAM;
    if (ok) return 1; /* allowed sockets are counted, not logged one by one */
    return verdict(SBX_EV_SOCKET, 0, (__u16)family, (__u16)type, protocol, 0);
}

/* The two kernel types the exec hook reads, as much of them as it needs:
 * with preserve_access_index, libbpf relocates the field offsets against
 * the running kernel's BTF (CO-RE), so no vmlinux.h is needed. */
struct task_struct {
    int pid;
} __attribute__((preserve_access_index));
struct linux_binprm {
    const char* filename;
} __attribute__((preserve_access_index));

/* Every exec on the host passes here (a BTF tracepoint: no tracefs
 * needed); only the session's are reported. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sbx_exec, struct task_struct* p, int old_pid, struct linux_binprm* bprm) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg || bpf_get_current_cgroup_id() != cfg->cgroup_id) return 0;
    struct sbx_exec_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&cfg->dropped, 1);
        return 0;
    }
    e->h.time_ns = bpf_ktime_get_ns();
    e->h.pid = bpf_get_current_pid_tgid() >> 32;
    e->h.kind = SBX_EV_EXEC;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_probe_read_kernel_str(e->path, sizeof(e->path), bprm->filename);
    bpf_ringbuf_submit(e, 0);
    return 0;
}
