/* Part of session.bpf.c. */
#pragma once

/* Execs and file operations, from classic (tracefs) tracepoints: the
 * exit of each file syscall that is reported, and sched_process_exec.
 * Each syscall's own tracepoint, not the raw sys_enter/sys_exit ones: a
 * raw syscall tracepoint runs its program for every syscall of every
 * process on the host, and for the agent's reads and writes that cost
 * 0.25 us a call (head -c 100M > f: 25,600 calls). A per-syscall tracepoint
 * costs the calls it does not watch one bit test in the kernel.
 * None of these needs the kernel's BTF parsed by libbpf (about 10 ms at
 * every session start): the records are the tracefs formats, stable since
 * Linux 3.x, and the call's arguments are read back from the thread's
 * saved user registers, which the kernel leaves as the caller set them
 * (found with bpf_task_pt_regs(): the kernel itself must have BTF, as
 * every distribution kernel with BPF LSM or CO-RE tools does).
 * Nothing is stored per call, so an open costs no map update. */
struct user_regs {
    unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

/* events/syscalls/sys_exit_NAME/format */
struct syscall_exit_record {
    __u64 common;
    __s32 nr;
    __s32 pad;
    __s64 ret;
};

/* events/sched/sched_process_exec/format */
struct exec_record {
    __u64 common;
    __u32 filename_loc; /* __data_loc: offset in the record (low 16 bits) and length */
    __s32 pid;
    __s32 old_pid;
};

#define O_ACCMODE 3
#define O_CREAT 0100
#define O_TRUNC 01000
#define NR_EXECVE 59
#define NR_EXECVEAT 322

/* Every successful exec in the session, with the path as the kernel took
 * it (bprm->filename: a racing thread cannot change it afterwards). Also
 * counted for the gate's caches (agent_state.bpf.h), in this one program:
 * the kernel takes at most 64 programs on a tracepoint, and two a session
 * would halve how many sessions can run at once. */
SEC("tracepoint/sched/sched_process_exec")
int sbx_exec(struct exec_record* ctx) {
    struct sbx_config* cfg = session_config();
    if (!cfg) return 0;
    agent_state_count_exec(cfg);
    cfg->armed = 1;
    /* The exec'ing thread may have taken over the id of a thread it killed
     * (the leader), for which the gate may still mark a call. */
    __u64 ids = session_ids(cfg);
    __u32 epoch_slot = SBX_GATE_LINE_SLOTS + ((__u32)ids & (SBX_GATE_LINE_SLOTS - 1));
    __u64* epoch = bpf_map_lookup_elem(&gate_lines, &epoch_slot);
    if (epoch) __sync_fetch_and_add(epoch, 1);
    if (!cfg->file_events) return 0;
    struct sbx_exec_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&cfg->dropped, 1);
        return 0;
    }
    e->h.time_ns = bpf_ktime_get_ns();
    e->h.pid = ids >> 32;
    e->h.kind = SBX_EV_EXEC;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    __u64 at = (__u64)ctx + (ctx->filename_loc & 0xffff);
    long n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), (const void*)at);
    if (n < 0) e->path[0] = 0;
    e->cut = n == sizeof(e->path) ? SBX_CUT_PATH : 0;
    e->pad = 0;
    bpf_ringbuf_submit(e, wakeup());
    return 0;
}

/* What a file syscall asks for, packed in one number: the operation and
 * which saved registers hold its path, second path and flags. A global
 * (not inlined) function is verified once on its own and its result is an
 * unknown number to the caller, so the thirty cases do not each get
 * verified through the rest of the exit program: that kept session start
 * fast. 0: not a file operation. */
#define REG_A0 14 /* di: index into struct user_regs */
#define REG_A1 13 /* si */
#define REG_A2 12 /* dx */
#define REG_A3 7  /* r10 */
#define FLAGS_OPEN_HOW 29 /* openat2: the flags are the first field of the struct in arg 2 */
#define FLAGS_CREAT 30    /* creat(): O_CREAT | O_TRUNC | O_WRONLY */
#define REG_NONE 31
#define SBX_OP_UNLINKAT 0xff /* SBX_OP_UNLINK or SBX_OP_RMDIR, by its flags */
#define CALL(op, path, path2, flags) ((op) | (path) << 8 | (path2) << 13 | (flags) << 18)

__attribute__((noinline)) int file_call_code(long id) {
    switch (id) {
        case 2: /* open */ return CALL(SBX_OP_OPEN_WRITE, REG_A0, REG_NONE, REG_A1);
        case 85: /* creat */ return CALL(SBX_OP_OPEN_WRITE, REG_A0, REG_NONE, FLAGS_CREAT);
        case 257: /* openat */ return CALL(SBX_OP_OPEN_WRITE, REG_A1, REG_NONE, REG_A2);
        case 437: /* openat2 */ return CALL(SBX_OP_OPEN_WRITE, REG_A1, REG_NONE, FLAGS_OPEN_HOW);
        case 87: /* unlink */ return CALL(SBX_OP_UNLINK, REG_A0, REG_NONE, REG_NONE);
        case 263: /* unlinkat */ return CALL(SBX_OP_UNLINKAT, REG_A1, REG_NONE, REG_A2);
        case 84: /* rmdir */ return CALL(SBX_OP_RMDIR, REG_A0, REG_NONE, REG_NONE);
        case 83: /* mkdir */ return CALL(SBX_OP_MKDIR, REG_A0, REG_NONE, REG_NONE);
        case 133: /* mknod */ return CALL(SBX_OP_MKNOD, REG_A0, REG_NONE, REG_NONE);
        case 259: /* mknodat */ return CALL(SBX_OP_MKNOD, REG_A1, REG_NONE, REG_NONE);
        case 258: /* mkdirat */ return CALL(SBX_OP_MKDIR, REG_A1, REG_NONE, REG_NONE);
        case 82: /* rename */ return CALL(SBX_OP_RENAME, REG_A0, REG_A1, REG_NONE);
        case 264: /* renameat */
        case 316: /* renameat2 */ return CALL(SBX_OP_RENAME, REG_A1, REG_A3, REG_NONE);
        case 86: /* link */ return CALL(SBX_OP_LINK, REG_A0, REG_A1, REG_NONE);
        case 265: /* linkat */ return CALL(SBX_OP_LINK, REG_A1, REG_A3, REG_NONE);
        case 88: /* symlink: the new link, then its target */ return CALL(SBX_OP_SYMLINK, REG_A1, REG_A0, REG_NONE);
        case 266: /* symlinkat */ return CALL(SBX_OP_SYMLINK, REG_A2, REG_A0, REG_NONE);
        case 76: /* truncate */ return CALL(SBX_OP_TRUNCATE, REG_A0, REG_NONE, REG_NONE);
        case 90: /* chmod */ return CALL(SBX_OP_CHMOD, REG_A0, REG_NONE, REG_NONE);
        case 268: /* fchmodat */ return CALL(SBX_OP_CHMOD, REG_A1, REG_NONE, REG_NONE);
        case 92: /* chown */
        case 94: /* lchown */ return CALL(SBX_OP_CHOWN, REG_A0, REG_NONE, REG_NONE);
        case 260: /* fchownat */ return CALL(SBX_OP_CHOWN, REG_A1, REG_NONE, REG_NONE);
        case 280: /* utimensat */ return CALL(SBX_OP_UTIMES, REG_A1, REG_NONE, REG_NONE);
        case 188: /* setxattr */
        case 189: /* lsetxattr */
        case 197: /* removexattr */
        case 198: /* lremovexattr */ return CALL(SBX_OP_XATTR, REG_A0, REG_NONE, REG_NONE);
        case 132: /* utime */
        case 235: /* utimes */ return CALL(SBX_OP_UTIMES, REG_A0, REG_NONE, REG_NONE);
        case 261: /* futimesat */ return CALL(SBX_OP_UTIMES, REG_A1, REG_NONE, REG_NONE);
        case 452: /* fchmodat2 */ return CALL(SBX_OP_CHMOD, REG_A1, REG_NONE, REG_NONE);
        case 463: /* setxattrat */
        case 466: /* removexattrat */ return CALL(SBX_OP_XATTR, REG_A1, REG_NONE, REG_NONE);
        case NR_EXECVE: return CALL(SBX_OP_EXEC, REG_A0, REG_NONE, REG_NONE);
        case NR_EXECVEAT: return CALL(SBX_OP_EXEC, REG_A1, REG_NONE, REG_NONE);
        default: return 0;
    }
}

/* One saved register of the calling thread (0 for REG_NONE). */
static __always_inline __u64 saved_reg(const struct user_regs* saved, __u32 index) {
    __u64 v = 0;
    if (index < REG_NONE) bpf_probe_read_kernel(&v, sizeof(v), (const unsigned long*)saved + (index & 31));
    return v;
}

/* Attached to sys_exit_NAME of every call file_call_code() knows (the
 * lists are kFileSyscalls and kNewerFileSyscalls in session_programs.cpp). */
SEC("tracepoint/syscalls/sys_exit_openat")
int sbx_file_exit(struct syscall_exit_record* ctx) {
    struct sbx_config* cfg = session_config();
    if (!cfg || !cfg->armed) return 0; /* before the first exec: the supervisor setting the session up */
    const struct user_regs* saved = (const struct user_regs*)bpf_task_pt_regs(bpf_get_current_task_btf());
    long id = ctx->nr;
    long ret = ctx->ret;
    /* The commonest call by far, an open for reading that succeeded, is
     * only counted, and first: it never reaches the gate (the seccomp
     * filter sends it opens that write, truncate or create), so the gate's
     * marks and the thread's ids are not needed for it. */
    if ((id == 257 || id == 2) && ret >= 0 && !cfg->audit && !cfg->log_reads) {
        __u32 f = (__u32)saved_reg(saved, id == 257 ? REG_A2 : REG_A1);
        if ((f & O_ACCMODE) == 0 && !(f & (O_CREAT | O_TRUNC))) {
            __sync_fetch_and_add(&cfg->reads, 1);
            return 0;
        }
    }
    __u64 tid = session_ids(cfg);
    /* A call the gate answered and journaled itself, with its undo record. */
    __u32 slot = (__u32)tid & (SBX_GATE_LINE_SLOTS - 1), epoch_slot = slot + SBX_GATE_LINE_SLOTS;
    __u64* gated = bpf_map_lookup_elem(&gate_lines, &slot);
    __u64* epoch = bpf_map_lookup_elem(&gate_lines, &epoch_slot);
    __u64 mark = epoch ? SBX_GATE_LINE_MARK(tid, *epoch, id) : 0;
    /* Cleared only if still this call's: the gate may have marked another
     * thread's call in the slot since. */
    if (gated && mark && __sync_val_compare_and_swap(gated, mark, 0) == mark) return 0;
    int refused = ret == -1 /*EPERM*/ || ret == -13 /*EACCES*/ || ret == -30 /*EROFS*/ || ret == -18 /*EXDEV*/;
    /* A successful exec is reported by sbx_exec; a refused one here, its
     * path still in the caller's memory. */
    if ((id == NR_EXECVE || id == NR_EXECVEAT) && (ret == 0 || !refused)) return 0;
    int code = file_call_code(id);
    if (code == 0) return 0;
    __u32 op = code & 0xff, flags_at = (code >> 18) & 31;
    __u32 flags = 0;
    if (flags_at == FLAGS_CREAT) {
        flags = O_CREAT | O_TRUNC | 1;
    } else if (flags_at == FLAGS_OPEN_HOW) {
        __u64 f = 0;
        bpf_probe_read_user(&f, sizeof(f), (void*)saved_reg(saved, REG_A2));
        flags = (__u32)f;
    } else {
        flags = (__u32)saved_reg(saved, flags_at);
    }
    if (op == SBX_OP_UNLINKAT) op = (flags & 0x200 /* AT_REMOVEDIR */) ? SBX_OP_RMDIR : SBX_OP_UNLINK;
    if (op == SBX_OP_OPEN_WRITE) {
        int writes = (flags & O_ACCMODE) != 0 || (flags & (O_CREAT | O_TRUNC));
        if (!writes) {
            if (!refused) {
                if (ret < 0) return 0;
                __sync_fetch_and_add(&cfg->reads, 1);
                /* Counted, not logged -- unless the profile asks, or in
                 * audit mode, where the supervisor checks each read
                 * against the profile. */
                if (!cfg->audit && !cfg->log_reads) return 0;
            }
            op = SBX_OP_OPEN_READ;
        }
    }
    if (ret < 0 && !refused) return 0; /* ENOENT and the like: not a decision */
    __u64 so_far = 0;
    if (ret < 0) {
        __u64 n = __sync_fetch_and_add(&cfg->file_refused, 1) + 1;
        if (n > SBX_FILE_REFUSALS_IN_FULL) {
            if ((n & (n - 1)) != 0) {
                __sync_fetch_and_add(&cfg->file_unjournaled, 1);
                return 0;
            }
            so_far = n;
        }
    }
    /* Only now, for a call that is journaled: the path registers (a
     * successful read, the commonest call, never needs them). */
    __u64 path = saved_reg(saved, (code >> 8) & 31), path2 = saved_reg(saved, (code >> 13) & 31);
    struct sbx_file_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&cfg->dropped, 1);
        return 0;
    }
    e->h.time_ns = bpf_ktime_get_ns();
    e->h.pid = tid >> 32;
    e->h.kind = SBX_EV_FILE;
    e->op = op;
    e->ret = (__s32)ret;
    e->flags = flags;
    e->cut = 0;
    e->so_far = (__u32)so_far;
    e->pad = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    e->path[0] = 0;
    e->path2[0] = 0;
    if (path && bpf_probe_read_user_str(e->path, sizeof(e->path), (void*)path) == sizeof(e->path))
        e->cut |= SBX_CUT_PATH;
    if (path2 && bpf_probe_read_user_str(e->path2, sizeof(e->path2), (void*)path2) == sizeof(e->path2))
        e->cut |= SBX_CUT_PATH2;
    bpf_ringbuf_submit(e, wakeup());
    return 0;
}
