/* Types shared by the BPF programs and the supervisor: one truth for both.
 *
 * Network scope. A session's allowed destinations live in an LPM trie keyed
 * by address; IPv4 addresses are stored as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * so a rule for 10.0.0.0/8 is the key {prefixlen = 96 + 8, ::ffff:10.0.0.0}
 * and matches both connect(AF_INET, 10.1.2.3) and connect(AF_INET6,
 * ::ffff:10.1.2.3). The value is a bitmap of the 65536 ports (8 KiB).
 *
 *   profile  connect = ["10.0.0.0/8:443", "10.0.0.0/8:8000-8099"]
 *   trie     {104, ::ffff:10.0.0.0} -> bits 443 and 8000..8099 set
 *
 * The programs look up the most specific block holding the destination and
 * test one bit: no loop for the verifier to walk, so loading them (which
 * sandbox-run does at every session start) stays cheap. Nothing matching
 * means no.
 *
 * Per-session settings live in a one-entry array map (struct sbx_config),
 * not in .rodata: libbpf binds a .rodata map to every program with one
 * syscall each, which costs more at start-up than the whole lookup.
 *
 * Events. Every network decision and every exec in the session goes to the
 * session's ring buffer; each event starts with struct sbx_event_header,
 * whose kind says which struct follows (sbx_net_event, sbx_exec_event).
 * When the buffer is full the event is counted in sbx_config.dropped
 * instead, and the supervisor journals the count: never silent.
 *
 * Enum values are explicit and never reused; the C++ side static_asserts
 * the layouts. */
#ifndef SANDBOXD_BPF_H
#define SANDBOXD_BPF_H

#ifdef __cplusplus
#include <cstdint>
typedef uint8_t sbx_u8;
typedef uint16_t sbx_u16;
typedef uint32_t sbx_u32;
typedef uint64_t sbx_u64;
typedef int32_t sbx_s32;
#else
typedef __u8 sbx_u8;
typedef __u16 sbx_u16;
typedef __u32 sbx_u32;
typedef __u64 sbx_u64;
typedef __s32 sbx_s32;
#endif

#define SBX_MAX_NET_RULES 1024

struct sbx_net_key {
    sbx_u32 prefixlen; /* bits of addr that must match, 0..128 */
    sbx_u8 addr[16];   /* IPv6, or IPv4-mapped IPv6 */
};

struct sbx_net_ports {
    sbx_u64 bits[65536 / 64]; /* bit p set: port p (host byte order) allowed */
};

/* Thread ids as the supervisor sees them. The snapshot gate's
 * notifications name a thread by its id in the supervisor's own pid
 * namespace; the programs must name it the same way, or the gate's marks
 * (SBX_GATE_LINE_SLOTS) would match nothing and the journal's pids would
 * disagree with each other. On the host the kernel's ids are those. In a
 * container (sandbox-run in a pid namespace of its own) the programs read
 * the thread's number at the supervisor's depth from the kernel's struct
 * pid, at offsets the supervisor took from the kernel's BTF: no CO-RE,
 * whose relocations would have libbpf parse all of the kernel's BTF at
 * every session's start, on the host too. */
struct sbx_pidns {
    sbx_u32 inum;  /* the supervisor's pid namespace; 0: the host's */
    sbx_u32 depth; /* its depth below the host's, plus 1; found and kept by
                      the programs (0: not yet), matching inum */
    sbx_u32 task_thread_pid, task_group_leader; /* in struct task_struct */
    sbx_u32 pid_level, pid_numbers;             /* in struct pid */
    sbx_u32 upid_size, upid_nr, upid_ns;        /* struct upid */
    sbx_u32 ns_inum;                            /* in struct pid_namespace (ns.inum) */
};

struct sbx_config {
    sbx_u32 audit;     /* log would-be denials instead of denying */
    sbx_u32 log_reads; /* journal successful opens for reading, not only count them */
    sbx_u64 dropped;   /* events lost because the ring buffer was full */
    sbx_u64 cgroup_id; /* the session's cgroup: tracepoints see every process */
    sbx_u64 reads;     /* successful opens for reading: counted, not logged */
    sbx_u64 armed;     /* set by the session's first exec: before it, the
                          file operations are the supervisor's own set-up */
    sbx_u64 connector_tgid; /* the session's init, which makes the gate's
                               unix connects (launch/session_connect.h):
                               the one process of the session the unix
                               hooks let connect */
    sbx_u64 inbound_refused; /* connections refused on their way in */
    /* chdir, fchdir and umask calls of the session that began, and that
       ended (and both once for each exec): the snapshot gate keeps each agent
       thread's working directory and umask while these say nothing changed
       (agent_state.bpf.h) */
    sbx_u64 agent_state_entered;
    sbx_u64 agent_state_exited;
    sbx_u64 file_events; /* journal execs and file changes ([events] files;
                            sbx_exec counts execs for the gate without it) */
    sbx_u64 gate_journals_binds; /* every bind() goes to the snapshot gate,
                                    which journals the refused ones and the
                                    socket files it makes */
    struct sbx_pidns pidns;
    /* Network decisions the hooks made, allowed and refused (and logged in
       audit mode), and those of them not journaled: past the first
       SBX_NET_EVENTS_IN_FULL of each, only every power of two is, and an
       allowed one gives way to refusals in a ring more than half full
       (net_scope.bpf.h). The supervisor journals the totals. */
    sbx_u64 net_allowed;
    sbx_u64 net_refused;
    sbx_u64 net_unjournaled;
    sbx_u64 outbound_refused; /* packets dropped on their way out */
    /* File calls and execs the kernel refused (EACCES, EPERM, EROFS,
       EXDEV), and those of them not journaled: past the first
       SBX_FILE_REFUSALS_IN_FULL, only every power of two is, or a loop of
       refused opens fills the journal's disk at tens of MB a second
       (file_events.bpf.h). What was done is never sampled: its undo
       record is in its line. The supervisor journals the totals. */
    sbx_u64 file_refused;
    sbx_u64 file_unjournaled;
    /* IPv4 and IPv6 sockets of the session open now, and how many it may
       have at once (0: no limit). Each holds a port of the host's one
       ephemeral range once it listens or sends (also a send the hooks
       refuse: the kernel picks the port first): without a bound one agent
       took all 28,232 of them, and the host's own connects failed (a
       red-team finding). */
    sbx_u64 inet_sockets;
    sbx_u64 inet_sockets_max;
};

#define SBX_NET_EVENTS_IN_FULL 1024
#define SBX_FILE_REFUSALS_IN_FULL 1024

/* The supervisor reads the ring buffer at least this often; the programs
 * wake it sooner only once this much is waiting. A wake-up is an
 * interrupt (a VM exit on a virtual machine): one per event would cost a
 * busy agent more than the event itself. */
#define SBX_EVENTS_POLL_MS 50
#define SBX_EVENTS_RING_BYTES (1024 * 1024)
#define SBX_EVENTS_WAKE_BYTES (64 * 1024)

/* The gate_lines map: one slot per agent thread (its id modulo the count),
 * (tid << 32) | (exec epoch << 16) | syscall number of a call the snapshot
 * gate journaled itself, which the exit program then leaves out; then as
 * many exec epochs, one a slot, which sbx_exec counts up: a mark made for
 * a thread an exec has since killed (its id taken over by the exec'ing
 * thread) then matches nothing (base/gate_line_marks.h). */
#define SBX_GATE_LINE_SLOTS 1024
#define SBX_GATE_LINE_MARK(tid, epoch, nr) \
    (((sbx_u64)(sbx_u32)(tid) << 32) | ((sbx_u64)((epoch) & 0xffff) << 16) | ((sbx_u64)(nr) & 0xffff))

enum sbx_event_kind {
    SBX_EV_CONNECT = 1,
    SBX_EV_SENDMSG = 2,
    SBX_EV_BIND = 3,
    SBX_EV_SOCKET = 4,
    SBX_EV_EXEC = 5,
    SBX_EV_FILE = 6,
    SBX_EV_INBOUND = 7,
    SBX_EV_OUTBOUND = 8,
    SBX_EV_SOCKET_LIMIT = 9, /* a socket refused: the session holds SBX_MAX_INET_SOCKETS */
};

/* Open IPv4/IPv6 sockets a session may hold at once (sbx_config.inet_sockets_max). */
#define SBX_MAX_INET_SOCKETS 4096

/* File operations (SBX_EV_FILE), by what the agent asked for. */
enum sbx_file_op {
    SBX_OP_OPEN_WRITE = 1, /* open/openat/openat2/creat for writing or creating */
    SBX_OP_OPEN_READ = 2,  /* only when refused: successful reads are counted */
    SBX_OP_UNLINK = 3,
    SBX_OP_RMDIR = 4,
    SBX_OP_MKDIR = 5,
    SBX_OP_RENAME = 6,
    SBX_OP_LINK = 7,
    SBX_OP_SYMLINK = 8,
    SBX_OP_TRUNCATE = 9,
    SBX_OP_CHMOD = 10,
    SBX_OP_CHOWN = 11,
    SBX_OP_UTIMES = 12,
    SBX_OP_XATTR = 13,
    SBX_OP_EXEC = 14, /* only when refused: successful ones are SBX_EV_EXEC */
    SBX_OP_MKNOD = 15, /* a FIFO, socket or device node made by path */
};

enum sbx_decision {
    SBX_DENY = 0,
    SBX_ALLOW = 1,
    SBX_AUDIT = 2, /* would be denied; allowed because the session audits */
};

/* Which layer made a network decision. Landlock refuses a TCP connect to a
 * port no connect entry names, and every TCP bind, before the cgroup hooks
 * are run: those refusals are seen at the syscall's exit (net_exits.bpf.h). */
enum sbx_net_layer {
    SBX_LAYER_CGROUP = 0,
    SBX_LAYER_LANDLOCK = 1,
};

struct sbx_event_header {
    sbx_u64 time_ns; /* CLOCK_MONOTONIC */
    sbx_u32 pid;     /* thread group id, in the initial pid namespace */
    sbx_u32 kind;    /* enum sbx_event_kind */
};

/* SBX_EV_CONNECT, SBX_EV_SENDMSG, SBX_EV_BIND, SBX_EV_SOCKET; and
 * SBX_EV_INBOUND, traffic refused on its way in to the session (a
 * connection to a listening socket, a datagram from an address the profile
 * does not name): addr is where it came from, family the socket's type
 * (SOCK_STREAM, SOCK_DGRAM), port the session's port, protocol how many
 * were refused so far, and pid and comm are empty (the packet arrives in
 * no thread of the session). */
struct sbx_net_event {
    struct sbx_event_header h;
    sbx_u32 decision; /* enum sbx_decision */
    sbx_u16 family;  /* AF_INET, AF_INET6; socket(): the requested family */
    sbx_u16 port;    /* host byte order; socket(): the type */
    sbx_u32 protocol; /* socket(): the protocol; else the socket type */
    sbx_u8 addr[16]; /* destination, IPv4-mapped for AF_INET */
    char comm[16];
    sbx_u32 layer; /* enum sbx_net_layer */
    sbx_u32 so_far; /* decisions of its kind (allowed, refused) so far, past
                       SBX_NET_EVENTS_IN_FULL: journaled in part; else 0 */
};

#define SBX_PATH_MAX 256

/* SBX_EV_FILE: a file operation that changed something, or was refused.
 * Paths are as the agent passed them (possibly relative), read from its
 * memory when the call returned: a record for the journal, not the basis
 * of any decision (those are Landlock's, on the kernel's own objects). */
struct sbx_file_event {
    struct sbx_event_header h;
    sbx_u32 op;    /* enum sbx_file_op */
    sbx_s32 ret;   /* the syscall's result: >= 0, or -errno */
    sbx_u32 flags; /* open flags, when an open */
    sbx_u32 cut;   /* SBX_CUT_PATH, SBX_CUT_PATH2: longer than the buffer, cut */
    sbx_u32 so_far; /* refusals so far, past SBX_FILE_REFUSALS_IN_FULL
                       (journaled in part); else 0 */
    sbx_u32 pad;
    char comm[16];
    char path[SBX_PATH_MAX];
    char path2[SBX_PATH_MAX]; /* rename/link target */
};

/* SBX_EV_EXEC: a successful exec in the session */
struct sbx_exec_event {
    struct sbx_event_header h;
    char comm[16];            /* the new program's name */
    char path[SBX_PATH_MAX];  /* the path as passed to exec */
    sbx_u32 cut;              /* SBX_CUT_PATH: longer than the buffer, cut */
    sbx_u32 pad;
};

/* A path that filled its buffer was (or may have been: it may be exactly
 * SBX_PATH_MAX - 1 bytes long) longer and is cut: said in the journal,
 * never shown as if whole. */
#define SBX_CUT_PATH 1
#define SBX_CUT_PATH2 2

#endif
