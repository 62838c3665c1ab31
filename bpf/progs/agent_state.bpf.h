/* Part of session.bpf.c. */
#pragma once

/* The snapshot gate resolves an agent's relative paths from the calling
 * thread's working directory and makes files with its umask. Reading them
 * from /proc for every gated call (open /proc/TID/cwd, render all of
 * /proc/TID/status for one field) costs about 10 us of a 45 us create, so
 * the gate keeps them per thread while these counts say nothing changed.
 *
 * Only chdir, fchdir and umask change either in an agent that can make no
 * namespace (chroot, pivot_root and setns need capabilities it never has;
 * the gate keeps no working directory when the profile allows namespaces).
 * And an exec from a thread that is not the leader takes the leader's
 * thread id (de_thread), so what the gate keeps for that id becomes
 * another thread's.
 *
 * Each call is counted twice: as it begins, before the change, and as it
 * ends, after it. The gate keeps a value only when it read it between two
 * equal counts of calls begun, with as many ended before (none under way:
 * the value is what every counted call left), and uses it while the count
 * of calls begun stays the same. A change under way when another thread
 * sharing the working directory reads it back is thus never missed.
 * Failed calls count too; that only costs a read. An exec counts as begun
 * and ended at once: sched_process_exec comes after de_thread and before
 * the new program makes its first call.
 *
 * A call that seccomp refuses has an exit and no entry (seccomp runs first:
 * the agent can install a filter of its own that refuses umask, a profile
 * can deny chdir). Counted as ended, it would put ended ahead of begun for
 * good, and a chdir under way would then look like none. So a call counts
 * as ended only if its entry marked the thread. An exit without a mark
 * counts as a change begun that never ends, which is also what a missed
 * entry needs (the kernel skips a tracing program on a CPU where another
 * BPF program is running): from then on the gate keeps nothing, only
 * slower. So does a full map (that many threads at once in these calls).
 *
 * The x86 syscall tracepoints do not see 32-bit (ia32) calls: these counts
 * rely on the session's seccomp filter refusing foreign ABIs (ENOSYS). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024); /* preallocated (any tracing program may use it): about 70 KiB */
    __type(key, __u64);  /* the thread (bpf_get_current_pid_tgid) */
    __type(value, __u8);
} agent_state_under_way SEC(".maps");

/* Attached to sys_enter_chdir, sys_enter_fchdir, sys_enter_umask. */
SEC("tracepoint/syscalls/sys_enter_umask")
int sbx_agent_state_enter(void* ctx) {
    struct sbx_config* cfg = session_config();
    if (!cfg) return 0;
    __sync_fetch_and_add(&cfg->agent_state_entered, 1);
    __u64 thread = bpf_get_current_pid_tgid();
    __u8 mark = 1;
    bpf_map_update_elem(&agent_state_under_way, &thread, &mark, BPF_ANY);
    return 0;
}

/* Attached to sys_exit_chdir, sys_exit_fchdir, sys_exit_umask. */
SEC("tracepoint/syscalls/sys_exit_umask")
int sbx_agent_state_exit(void* ctx) {
    struct sbx_config* cfg = session_config();
    if (!cfg) return 0;
    __u64 thread = bpf_get_current_pid_tgid();
    if (bpf_map_delete_elem(&agent_state_under_way, &thread) == 0)
        __sync_fetch_and_add(&cfg->agent_state_exited, 1);
    else
        __sync_fetch_and_add(&cfg->agent_state_entered, 1);
    return 0;
}

/* Called by sbx_exec (file_events.bpf.h), the session's one program on
 * sched_process_exec. */
static __always_inline void agent_state_count_exec(struct sbx_config* cfg) {
    __sync_fetch_and_add(&cfg->agent_state_entered, 1);
    __sync_fetch_and_add(&cfg->agent_state_exited, 1);
}
