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
    __uint(max_entries, 1024 * 1024);
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

#include "net_scope.bpf.h"
#include "agent_state.bpf.h"
#include "file_events.bpf.h"
#include "net_exits.bpf.h"
