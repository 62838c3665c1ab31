/* A session's BPF programs, in one object (one skeleton, one load) since
 * they share the event ring and the session's config:
 *   net_scope.bpf.h    network scope, attached to the session's cgroup;
 *   file_events.bpf.h  every exec and file operation in the session, from
 *                      sched_process_exec and the file syscalls' exit
 *                      tracepoints;
 *   agent_state.bpf.h  a count of the session's chdir, fchdir and umask
 *                      calls, for the snapshot gate's caches.
 * See sandboxd_bpf.h for the maps and the events. */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sandboxd_bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, SBX_EVENTS_RING_BYTES);
} events SEC(".maps");

/* Mapped into the supervisor, which reads agent_state_entered and
 * agent_state_exited for each gated call: loads, not syscalls. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sbx_config);
} config SEC(".maps");

/* See SBX_GATE_LINE_SLOTS. Mapped into the supervisor, whose gate writes it. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2 * SBX_GATE_LINE_SLOTS);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, __u64);
} gate_lines SEC(".maps");

/* See SBX_EVENTS_WAKE_BYTES. */
static __always_inline __u64 wakeup(void) {
    return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= SBX_EVENTS_WAKE_BYTES ? BPF_RB_FORCE_WAKEUP
                                                                                  : BPF_RB_NO_WAKEUP;
}

/* The session's config, for a program run on a tracepoint (which sees
 * every process on the host): null unless the caller is in the session. */
static __always_inline struct sbx_config* session_config(void) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (!cfg || bpf_get_current_cgroup_id() != cfg->cgroup_id) return 0;
    return cfg;
}

/* One step of the search for the supervisor's pid namespace among those a
 * pid has a number in (bpf_loop: the verifier checks a step once, where a
 * loop of 33 inlined in every program made each session's load 100 ms
 * slower). */
struct pidns_search {
    struct sbx_config* cfg;
    __u64 pid;
    __u32 levels;
    __u32 depth; /* found: index + 1 */
};

static long pidns_search_step(__u32 i, void* data) {
    struct pidns_search* s = data;
    const struct sbx_pidns* ns = &s->cfg->pidns;
    if (i > s->levels) return 1;
    __u64 at = s->pid + ns->pid_numbers + (__u64)i * ns->upid_size, pidns = 0;
    __u32 inum = 0;
    if (bpf_probe_read_kernel(&pidns, sizeof(pidns), (void*)(at + ns->upid_ns)) || !pidns ||
        bpf_probe_read_kernel(&inum, sizeof(inum), (void*)(pidns + ns->ns_inum)))
        return 1;
    if (inum != ns->inum) return 0;
    s->depth = i + 1;
    return 1;
}

/* The number of the pid `pid` (a struct pid) in the supervisor's pid
 * namespace, `depth` (index + 1) deep; 0 if it has none there. */
static __always_inline __u32 pid_nr_at(struct sbx_config* cfg, __u64 pid, __u32 depth) {
    const struct sbx_pidns* ns = &cfg->pidns;
    __u32 levels = 0;
    if (!pid || bpf_probe_read_kernel(&levels, sizeof(levels), (void*)(pid + ns->pid_level))) return 0;
    if (depth - 1 > levels || depth > 33) return 0;
    __s32 nr = 0;
    __u64 at = pid + ns->pid_numbers + (__u64)(depth - 1) * ns->upid_size + ns->upid_nr;
    if (bpf_probe_read_kernel(&nr, sizeof(nr), (void*)at) || nr <= 0) return 0;
    return (__u32)nr;
}

/* The calling thread's ids as the supervisor sees them, packed as
 * bpf_get_current_pid_tgid() packs them (sbx_pidns). Where they cannot be
 * read, the kernel's: a mark of the gate's then matches nothing, and its
 * call has two lines, never none. Used where marks and the gate's lines
 * meet (execs, file calls); network events keep the kernel's ids, which
 * spares every cgroup program this code at each session's load. */
static __always_inline __u64 session_ids(struct sbx_config* cfg) {
    __u64 ids = bpf_get_current_pid_tgid();
    if (!cfg->pidns.inum) return ids;
    __u64 task = bpf_get_current_task(), leader = 0, pid = 0, leader_pid = 0;
    if (bpf_probe_read_kernel(&pid, sizeof(pid), (void*)(task + cfg->pidns.task_thread_pid)) ||
        bpf_probe_read_kernel(&leader, sizeof(leader), (void*)(task + cfg->pidns.task_group_leader)) || !leader ||
        bpf_probe_read_kernel(&leader_pid, sizeof(leader_pid), (void*)(leader + cfg->pidns.task_thread_pid)) || !pid)
        return ids;
    __u32 depth = cfg->pidns.depth;
    if (!depth) {
        /* Found once, by the namespace's inode number, among those the
         * thread has a number in; MAX_PID_NS_LEVEL is 32. */
        struct pidns_search s = {cfg, pid, 0, 0};
        if (bpf_probe_read_kernel(&s.levels, sizeof(s.levels), (void*)(pid + cfg->pidns.pid_level))) return ids;
        bpf_loop(33, pidns_search_step, &s, 0);
        depth = s.depth;
        if (!depth) return ids;
        cfg->pidns.depth = depth;
    }
    __u32 tid = pid_nr_at(cfg, pid, depth), tgid = pid_nr_at(cfg, leader_pid, depth);
    if (!tid || !tgid) return ids;
    return (__u64)tgid << 32 | tid;
}

#include "net_scope.bpf.h"
#include "agent_state.bpf.h"
#include "file_events.bpf.h"
#include "net_exits.bpf.h"
