/* Part of session.bpf.c. */
#pragma once

/* The snapshot gate resolves an agent's relative paths from the calling
 * thread's working directory and makes files with its umask. Reading them
 * from /proc for every gated call (open /proc/TID/cwd, render all of
 * /proc/TID/status for one field) costs about 10 us of a 45 us create, so
 * the gate keeps them per thread, for as long as this count stays the same.
 *
 * Only chdir, fchdir and umask change either in an agent that can make no
 * namespace (chroot, pivot_root and setns need capabilities it never has;
 * the gate keeps no working directory when the profile allows namespaces).
 * The count goes up at the call's exit, after the change: the gate reads
 * the count before it reads the value, so a value read before a change is
 * always kept under an older count than the one the change leaves. Failed
 * calls count too; that only costs a read. */
SEC("tracepoint/syscalls/sys_exit_umask")
int sbx_agent_state(void* ctx) {
    __u32 zero = 0;
    struct sbx_config* cfg = bpf_map_lookup_elem(&config, &zero);
    if (cfg && bpf_get_current_cgroup_id() == cfg->cgroup_id) __sync_fetch_and_add(&cfg->agent_state_changes, 1);
    return 0;
}
