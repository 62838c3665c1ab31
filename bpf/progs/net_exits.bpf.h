/* Part of session.bpf.c; after net_scope.bpf.h and file_events.bpf.h. */
#pragma once

/* Network refusals the cgroup hooks never see. Landlock checks a connect
 * and a bind (security_socket_connect/bind) before the protocol code runs
 * the cgroup hooks: a TCP connect to a port no connect entry names, and
 * every TCP bind, fail with EACCES and no hook is run. No hook sees unix
 * binds at all: one outside the write scope fails with EACCES (Landlock's
 * MAKE_SOCK right) or EROFS (the session's read-only view of the host).
 *
 * So the exits of connect() and bind() report EACCES, unless a hook let
 * the same call through (net_hook_passed): that EACCES is the kernel's
 * own, after the hook (a broadcast address, a privileged port), and the
 * hook's line already names the call. The cgroup hooks refuse with EPERM
 * and journal that themselves. A unix bind is reported as a file made or
 * refused, its path as the name.
 *
 * The address is read back from the caller's memory at the exit: a record
 * for the journal, like the file events' paths; the decision was
 * Landlock's, on the kernel's copy; a thread racing the call can change
 * or hide the line of its own refused call, never the call's outcome.
 * Unix connects are the gate's to journal (only it connects them), and so
 * are all binds where the gate makes them (gate_journals_binds). Unix
 * binds are file events: reported with [events] files only. */

#define NR_BIND 49
#define EACCES 13
#define EROFS 30

struct sbx_sockaddr_in {
    __u16 family;
    __u16 port; /* network byte order */
    __u8 addr[4];
};

struct sbx_sockaddr_in6 {
    __u16 family;
    __u16 port;
    __u32 flowinfo;
    __u8 addr[16];
};

#define SUN_PATH_MAX 108

/* A pathname unix bind, made or refused: a file event (a socket is a node
 * made by path, as by mknod). */
static __always_inline void report_unix_bind(struct sbx_config* cfg, __u64 sockaddr, __u32 len, long ret) {
    struct sbx_file_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&cfg->dropped, 1);
        return;
    }
    e->h.time_ns = bpf_ktime_get_ns();
    e->h.pid = bpf_get_current_pid_tgid() >> 32;
    e->h.kind = SBX_EV_FILE;
    e->op = SBX_OP_MKNOD;
    e->ret = (__s32)ret;
    e->flags = 0;
    e->cut = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    e->path2[0] = 0;
    /* sun_path needs no terminating NUL: what the length covers, no more
     * (a short address at the end of a page must still be read). */
    __u64 n = len - 2;
    if (n > SUN_PATH_MAX) n = SUN_PATH_MAX;
    /* The verifier's bound, in the register it checks (clang would drop a
     * mask it can prove is a no-op after the line above). */
    asm volatile("%[n] &= 127" : [n] "+r"(n));
    if (n == 0 || bpf_probe_read_user(e->path, n, (const void*)(sockaddr + 2)) != 0) n = 0;
    e->path[n] = 0;
    bpf_ringbuf_submit(e, wakeup());
}

/* Attached to sys_enter_connect and sys_enter_bind: a mark left by a hook
 * outside these calls (sendto with MSG_FASTOPEN runs the connect hook)
 * must not pass for this call's. */
SEC("tracepoint/syscalls/sys_enter_connect")
int sbx_net_enter(void* ctx) {
    if (!session_config()) return 0;
    __u64 thread = bpf_get_current_pid_tgid();
    bpf_map_delete_elem(&net_hook_passed, &thread);
    return 0;
}

/* Attached to sys_exit_connect and sys_exit_bind. */
SEC("tracepoint/syscalls/sys_exit_connect")
int sbx_net_exit(struct syscall_exit_record* ctx) {
    struct sbx_config* cfg = session_config();
    if (!cfg) return 0;
    __u64 thread = bpf_get_current_pid_tgid();
    int hook_passed = bpf_map_delete_elem(&net_hook_passed, &thread) == 0;
    long ret = ctx->ret;
    __u32 kind = ctx->nr == NR_BIND ? SBX_EV_BIND : SBX_EV_CONNECT;
    int refused = ret == -EACCES || ret == -EROFS;
    /* A unix bind that made a socket file made a file, as mknod does. */
    int made = ret == 0 && kind == SBX_EV_BIND;
    if (!refused && !made) return 0;
    /* Where the gate makes every bind, it journals them all. */
    if (kind == SBX_EV_BIND && cfg->gate_journals_binds) return 0;
    const struct user_regs* saved = (const struct user_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
    __u64 sockaddr = saved_reg(saved, REG_A1), len = saved_reg(saved, REG_A2);
    __u16 family = 0;
    if (bpf_probe_read_user(&family, sizeof(family), (const void*)sockaddr) != 0) return 0;
    if (family == AF_UNIX) {
        char first = 0; /* 0: an abstract name, no file */
        if (kind == SBX_EV_BIND && cfg->file_events && (__u32)len > 2 &&
            bpf_probe_read_user(&first, 1, (const void*)(sockaddr + 2)) == 0 && first != 0)
            report_unix_bind(cfg, sockaddr, (__u32)len, ret);
        return 0;
    }
    if (ret != -EACCES || hook_passed) return 0;
    __u8 addr[16];
    __builtin_memset(addr, 0, sizeof(addr));
    __u16 port = 0;
    if (family == AF_INET) {
        struct sbx_sockaddr_in in;
        if (bpf_probe_read_user(&in, sizeof(in), (const void*)sockaddr) != 0) return 0;
        addr[10] = addr[11] = 0xff;
        __builtin_memcpy(&addr[12], in.addr, 4);
        port = bpf_ntohs(in.port);
    } else if (family == AF_INET6) {
        struct sbx_sockaddr_in6 in6;
        if (bpf_probe_read_user(&in6, sizeof(in6), (const void*)sockaddr) != 0) return 0;
        __builtin_memcpy(addr, in6.addr, 16);
        port = bpf_ntohs(in6.port);
    } else {
        return 0;
    }
    /* Counted and sampled with the hooks' own refusals (verdict()). */
    __sync_fetch_and_add(&cfg->net_refused, 1);
    __u64 n = cfg->net_refused;
    if (n > SBX_NET_EVENTS_IN_FULL && (n & (n - 1)) != 0) {
        __sync_fetch_and_add(&cfg->net_unjournaled, 1);
        return 0;
    }
    struct sbx_net_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&cfg->dropped, 1);
        return 0;
    }
    e->so_far = n > SBX_NET_EVENTS_IN_FULL ? (__u32)n : 0;
    e->h.time_ns = bpf_ktime_get_ns();
    e->h.pid = bpf_get_current_pid_tgid() >> 32;
    e->h.kind = kind;
    e->decision = SBX_DENY;
    e->family = family;
    e->port = port;
    e->protocol = SOCK_STREAM; /* Landlock's network rights are TCP's */
    __builtin_memcpy(e->addr, addr, 16);
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    e->layer = SBX_LAYER_LANDLOCK;
    bpf_ringbuf_submit(e, wakeup());
    return 0;
}
