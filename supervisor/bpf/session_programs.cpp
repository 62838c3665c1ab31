#include "bpf/session_programs.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpf/pidns_offsets.h"
#include "bpf/tracepoints.h"
#include "session.skel.h"

static_assert(sizeof(sbx_net_key) == 20, "sbx_net_key layout is shared with BPF");
static_assert(sizeof(sbx_net_ports) == 8192, "sbx_net_ports layout is shared with BPF");
static_assert(sizeof(sbx_config) == 88 + 40 + 32 + 16 + 16, "sbx_config layout is shared with BPF");
static_assert(sizeof(sbx_file_event) == 16 + 24 + 16 + 2 * SBX_PATH_MAX, "sbx_file_event layout is shared with BPF");
static_assert(sizeof(sbx_event_header) == 16, "sbx_event_header layout is shared with BPF");
static_assert(sizeof(sbx_net_event) == 72 && offsetof(sbx_net_event, addr) == 28 &&
                  offsetof(sbx_net_event, comm) == 44 && offsetof(sbx_net_event, layer) == 60,
              "sbx_net_event layout is shared with BPF");
static_assert(sizeof(sbx_exec_event) == 16 + 16 + SBX_PATH_MAX + 8, "sbx_exec_event layout is shared with BPF");

namespace sandboxd {
namespace {

int on_record(void* ctx, void* data, size_t size) {
    (*static_cast<SessionPrograms::RecordFn*>(ctx))(data, size);
    return 0;
}

}  // namespace

void SessionPrograms::SkelDeleter::operator()(sbx_session* s) const { sbx_session__destroy(s); }
void SessionPrograms::RingDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }
void SessionPrograms::LinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }

SessionPrograms::SessionPrograms(SessionPrograms&&) noexcept = default;
SessionPrograms& SessionPrograms::operator=(SessionPrograms&&) noexcept = default;
// Also when a session fails to start after its programs were attached:
// the slow way, its error message came after 3.4 s of teardown.
SessionPrograms::~SessionPrograms() { detach_tracepoints_in_background(); }

// The calls whose exits the event stream reports: exactly the cases of
// file_call_code() in bpf/progs/file_events.bpf.h. (openat2 is refused by
// the gate's filter, but a profile without a gate lets it through.)
constexpr const char* kFileSyscalls[] = {
    "open",    "creat",     "openat",    "openat2",   "unlink",  "unlinkat",  "rmdir",       "mkdir",
    "mkdirat", "rename",    "renameat",  "renameat2", "link",    "linkat",    "symlink",     "symlinkat",
    "truncate", "chmod",    "fchmodat",  "chown",     "lchown",  "fchownat",  "utimensat",   "setxattr",
    "lsetxattr", "removexattr", "lremovexattr", "execve", "execveat", "utime", "utimes", "futimesat", "mknod", "mknodat"};
// Calls newer than the oldest kernel supported (fchmodat2: 6.6, the xattr
// *at calls: 6.13), watched where the kernel has them. The snapshot gate
// refuses all three; a profile without it lets them through.
constexpr const char* kNewerFileSyscalls[] = {"fchmodat2", "setxattrat", "removexattrat"};

// enum bpf_attach_type values from Linux 6.7's uapi (Debian 12's is older).
constexpr auto kUnixConnect = bpf_attach_type(49);  // BPF_CGROUP_UNIX_CONNECT
constexpr auto kUnixSendmsg = bpf_attach_type(50);  // BPF_CGROUP_UNIX_SENDMSG

Result<SessionPrograms> SessionPrograms::start(const NetPlan& plan, const Options& opts, int cgroup_fd) {
    struct stat st{};
    if (::fstat(cgroup_fd, &st) != 0) return errno_error("cannot stat the session cgroup");
    SessionPrograms s;
    auto open_and_load = [&s, &opts](bool unix_hooks) -> int {
        s.skel_.reset(sbx_session__open());
        if (!s.skel_) return -1;
        // The unix socket hooks (Linux 6.7) are newer than this libbpf.
        bpf_program__set_expected_attach_type(s.skel_->progs.sbx_connect_unix, kUnixConnect);
        bpf_program__set_expected_attach_type(s.skel_->progs.sbx_sendmsg_unix, kUnixSendmsg);
        bpf_program__set_autoload(s.skel_->progs.sbx_connect_unix, unix_hooks);
        bpf_program__set_autoload(s.skel_->progs.sbx_sendmsg_unix, unix_hooks);
        bpf_program__set_autoload(s.skel_->progs.sbx_agent_state_enter, opts.agent_state);
        bpf_program__set_autoload(s.skel_->progs.sbx_agent_state_exit, opts.agent_state);
        return sbx_session__load(s.skel_.get());
    };
    // The first try is a probe on kernels before 6.7: keep libbpf's
    // complaint about the unix hooks off the terminal (the message below
    // says it better); a second failure has it printed.
    libbpf_print_fn_t print = libbpf_set_print(nullptr);
    int loaded = open_and_load(true);
    libbpf_set_print(print);
    if (loaded != 0) {
        Error first = errno_error("cannot load the session's BPF programs (cgroup BPF and tracepoints need "
                                  "CAP_BPF, CAP_PERFMON and a kernel with CONFIG_CGROUP_BPF)");
        // The event stream reads a thread's registers through the kernel's
        // own type information.
        if (::access("/sys/kernel/btf/vmlinux", F_OK) != 0)
            return plain_error("cannot load the session's BPF programs: this kernel has no BTF "
                               "(/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF=y), which they need");
        // Without the unix socket hooks: if that loads, they are what this
        // kernel lacks.
        if (open_and_load(false) != 0) return first;
        if (!opts.unix_hooks_optional)
            return plain_error("this kernel has no cgroup BPF hooks for unix sockets (connect_unix, "
                               "sendmsg_unix: Linux 6.7), which stop the agent from reaching a pathname unix "
                               "socket behind the gate's back; upgrade the kernel, or accept a weaker sandbox "
                               "in the profile with [kernel] accept_missing = [\"unix-socket-hooks\"]");
        s.unix_hooks_ = false;
    }
    uint32_t zero = 0;
    sbx_config cfg{};
    cfg.audit = opts.audit ? 1 : 0;
    cfg.gate_journals_binds = opts.gate_journals_binds ? 1 : 0;
    cfg.log_reads = opts.log_reads ? 1 : 0;
    cfg.file_events = opts.file_events ? 1 : 0;
    cfg.cgroup_id = st.st_ino;  // a cgroup v2 directory's inode number is its id
    cfg.inet_sockets_max = SBX_MAX_INET_SOCKETS;
    // Kept quiet when it fails: that costs the journal a second line for
    // each call the gate journals in a container, nothing more.
    if (auto ns = supervisor_pidns()) cfg.pidns = *ns;
    if (bpf_map_update_elem(bpf_map__fd(s.skel_->maps.config), &zero, &cfg, BPF_ANY) != 0)
        return errno_error("cannot configure the session's BPF programs");
    int map = bpf_map__fd(s.skel_->maps.allow_connect);
    for (const auto& a : plan.allow)
        if (bpf_map_update_elem(map, &a.key, &a.ports, BPF_ANY) != 0)
            return errno_error("cannot add network rule " + a.text);
    s.fn_ = std::make_unique<RecordFn>();
    s.ring_.reset(ring_buffer__new(bpf_map__fd(s.skel_->maps.events), on_record, s.fn_.get(), nullptr));
    if (!s.ring_) return errno_error("cannot open the session's event ring buffer");

    struct {
        bpf_program* prog;
        bpf_attach_type type;
        const char* name;
    } hooks[] = {
        {s.skel_->progs.sbx_connect4, BPF_CGROUP_INET4_CONNECT, "connect4"},
        {s.skel_->progs.sbx_connect6, BPF_CGROUP_INET6_CONNECT, "connect6"},
        {s.skel_->progs.sbx_sendmsg4, BPF_CGROUP_UDP4_SENDMSG, "sendmsg4"},
        {s.skel_->progs.sbx_sendmsg6, BPF_CGROUP_UDP6_SENDMSG, "sendmsg6"},
        {s.skel_->progs.sbx_bind4, BPF_CGROUP_INET4_BIND, "bind4"},
        {s.skel_->progs.sbx_bind6, BPF_CGROUP_INET6_BIND, "bind6"},
        {s.skel_->progs.sbx_sock_create, BPF_CGROUP_INET_SOCK_CREATE, "sock_create"},
        {s.skel_->progs.sbx_sock_release, BPF_CGROUP_INET_SOCK_RELEASE, "sock_release"},
        {s.skel_->progs.sbx_ingress, BPF_CGROUP_INET_INGRESS, "ingress"},
        {s.skel_->progs.sbx_egress, BPF_CGROUP_INET_EGRESS, "egress"},
        {s.skel_->progs.sbx_connect_unix, kUnixConnect, "connect_unix"},
        {s.skel_->progs.sbx_sendmsg_unix, kUnixSendmsg, "sendmsg_unix"},
    };
    for (const auto& h : hooks)
        if (bpf_program__fd(h.prog) >= 0 &&
            bpf_prog_attach(bpf_program__fd(h.prog), cgroup_fd, h.type, BPF_F_ALLOW_MULTI) != 0)
            return errno_error(std::string("cannot attach the ") + h.name + " BPF program to the session cgroup");
    auto tracefs = open_tracefs();
    if (!tracefs && opts.file_events) return tracefs.error();
    auto attach = [&](bpf_program* prog, const char* category, const std::string& name) -> Status {
        if (!tracefs) return tracefs.error();
        auto link = attach_tracepoint(tracefs->get(), prog, category, name);
        if (!link && link.error().code == E2BIG)
            return Error{E2BIG, "cannot attach the event stream to the tracepoint " + name +
                                    ": the kernel takes at most 64 BPF programs on one tracepoint, and other "
                                    "sessions (or tools) hold them; run this session once others have ended" +
                                    std::string(opts.file_events ? ", or with [events] files = false" : "")};
        if (!link) return link.error();
        s.links_.push_back(std::move(*link));
        return {};
    };
    // Refusals Landlock makes before any of those hooks run. Needed with
    // the file events (the same tracepoints, the same limits); without
    // them a session that cannot have these runs, and says so.
    Status net_watched = [&]() -> Status {
        for (const char* call : {"connect", "bind"}) {
            SANDBOXD_TRY(attach(s.skel_->progs.sbx_net_enter, "syscalls", std::string("sys_enter_") + call));
            SANDBOXD_TRY(attach(s.skel_->progs.sbx_net_exit, "syscalls", std::string("sys_exit_") + call));
        }
        return {};
    }();
    if (!net_watched) {
        if (opts.file_events) return net_watched.error();
        s.net_refusals_problem_ = net_watched.error().describe();
    }
    if (opts.file_events) {
        if (auto r = attach(s.skel_->progs.sbx_exec, "sched", "sched_process_exec"); !r) return r.error();
        for (const char* call : kFileSyscalls)
            if (auto r = attach(s.skel_->progs.sbx_file_exit, "syscalls", std::string("sys_exit_") + call); !r)
                return r.error();
        for (const char* call : kNewerFileSyscalls)
            if (auto r = attach(s.skel_->progs.sbx_file_exit, "syscalls", std::string("sys_exit_") + call);
                !r && r.error().code != ENOENT)
                return r.error();
        // Where the gate says which calls it journaled: without the
        // mapping, both lines are kept (nothing is lost).
        size_t bytes = 2 * SBX_GATE_LINE_SLOTS * sizeof(uint64_t);
        void* view = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(s.skel_->maps.gate_lines), 0);
        if (view != MAP_FAILED)
            s.gate_lines_ = {static_cast<uint64_t*>(view), SBX_GATE_LINE_SLOTS,
                             std::shared_ptr<void>(view, [bytes](void* p) { ::munmap(p, bytes); })};
    }
    // After the event stream, which must have its slots on the tracepoints.
    if (opts.agent_state) {
        Status watched = tracefs ? s.watch_agent_state(tracefs->get(), opts.file_events) : Status(tracefs.error());
        if (!watched) s.agent_state_problem_ = watched.error().describe();
    }
    return s;
}

Result<SessionPrograms::Link> SessionPrograms::attach_tracepoint(int tracefs, bpf_program* prog, const char* category,
                                                                 const std::string& name) {
    auto event = open_tracepoint(tracefs, category, name);
    if (!event) return event.error();
    bpf_link* link = bpf_program__attach_perf_event(prog, event->get());
    if (!link) return errno_error("cannot attach a BPF program to the tracepoint " + name);
    event->release();  // the link closes it
    return Link(link);
}

// Without the counts the gate only reads more: a failure here is said, not
// fatal. Attached before the agent exists, so no change goes uncounted;
// all or none. sbx_exec counts execs; it is attached here only when the
// event stream has not attached it already.
Status SessionPrograms::watch_agent_state(int tracefs, bool exec_attached) {
    const struct {
        bpf_program* prog;
        const char* category;
        const char* name;
    } points[] = {
        {skel_->progs.sbx_agent_state_enter, "syscalls", "sys_enter_chdir"},
        {skel_->progs.sbx_agent_state_enter, "syscalls", "sys_enter_fchdir"},
        {skel_->progs.sbx_agent_state_enter, "syscalls", "sys_enter_umask"},
        {skel_->progs.sbx_agent_state_exit, "syscalls", "sys_exit_chdir"},
        {skel_->progs.sbx_agent_state_exit, "syscalls", "sys_exit_fchdir"},
        {skel_->progs.sbx_agent_state_exit, "syscalls", "sys_exit_umask"},
        {exec_attached ? nullptr : skel_->progs.sbx_exec, "sched", "sched_process_exec"},
    };
    std::vector<Link> links;
    for (const auto& p : points) {
        if (!p.prog) continue;
        auto link = attach_tracepoint(tracefs, p.prog, p.category, p.name);
        if (!link) return link.error();
        links.push_back(std::move(*link));
    }
    long page = ::sysconf(_SC_PAGESIZE);
    void* view = ::mmap(nullptr, size_t(page), PROT_READ, MAP_SHARED, bpf_map__fd(skel_->maps.config), 0);
    if (view == MAP_FAILED) return errno_error("cannot map the session's BPF config");
    std::shared_ptr<const void> mapping(view, [page](const void* p) { ::munmap(const_cast<void*>(p), size_t(page)); });
    const auto* cfg = static_cast<const sbx_config*>(view);
    agent_state_ = {&cfg->agent_state_entered, &cfg->agent_state_exited, std::move(mapping)};
    for (auto& l : links) links_.push_back(std::move(l));
    return {};
}

Status SessionPrograms::set_connector(pid_t init) {
    // One field of the live config, through a writable mapping: an update
    // of the whole entry would reset the counters the programs keep in it.
    long page = ::sysconf(_SC_PAGESIZE);
    void* view = ::mmap(nullptr, size_t(page), PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(skel_->maps.config), 0);
    if (view == MAP_FAILED) return errno_error("cannot map the session's BPF config");
    __atomic_store_n(&static_cast<sbx_config*>(view)->connector_tgid, uint64_t(init), __ATOMIC_RELEASE);
    ::munmap(view, size_t(page));
    return {};
}

std::vector<std::string> SessionPrograms::watched_file_syscalls() {
    std::vector<std::string> out(std::begin(kFileSyscalls), std::end(kFileSyscalls));
    auto tracefs = open_tracefs();
    for (const char* call : kNewerFileSyscalls)
        if (tracefs && tracepoint_id(tracefs->get(), "syscalls", std::string("sys_exit_") + call)) out.push_back(call);
    return out;
}

int SessionPrograms::events_fd() const { return ring_buffer__epoll_fd(ring_.get()); }

void SessionPrograms::consume(const RecordFn& fn) {
    *fn_ = fn;
    ring_buffer__consume(ring_.get());
}

void SessionPrograms::detach_tracepoints_in_background() {
    if (links_.empty()) return;
    std::vector<int> keep;
    for (const auto& l : links_) keep.push_back(bpf_link__fd(l.get()));
    std::sort(keep.begin(), keep.end());
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) != 0) return;  // then the links go the slow way
    keep.insert(std::lower_bound(keep.begin(), keep.end(), gate[0]), gate[0]);
    pid_t pid = ::fork();
    if (pid == 0) {
        // A grandchild holds the links, which init reaps: the caller may
        // live on and collect no zombie. It keeps nothing else: a pipe
        // someone reads to its end (sandbox-run's stdout) would stay open
        // for as long as the teardown takes.
        if (::fork() != 0) _exit(0);
        unsigned from = 0;
        for (int fd : keep) {
            if (unsigned(fd) > from) ::syscall(SYS_close_range, from, unsigned(fd) - 1, 0);
            from = unsigned(fd) + 1;
        }
        ::syscall(SYS_close_range, from, ~0U, 0);
        // Until the caller has let go of its own, then exits: the kernel's
        // teardown waits here.
        char c;
        while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    ::close(gate[0]);
    if (pid > 0) {
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    links_.clear();
    ::close(gate[1]);
}

namespace {
sbx_config read_config(int fd) {
    uint32_t zero = 0;
    sbx_config cfg{};
    bpf_map_lookup_elem(fd, &zero, &cfg);
    return cfg;
}
}  // namespace

uint64_t SessionPrograms::dropped() const { return read_config(bpf_map__fd(skel_->maps.config)).dropped; }
uint64_t SessionPrograms::reads() const { return read_config(bpf_map__fd(skel_->maps.config)).reads; }
SessionPrograms::NetCounts SessionPrograms::net_counts() const {
    sbx_config c = read_config(bpf_map__fd(skel_->maps.config));
    return {c.net_allowed, c.net_refused, c.net_unjournaled};
}
SessionPrograms::FileRefusals SessionPrograms::file_refusals() const {
    sbx_config c = read_config(bpf_map__fd(skel_->maps.config));
    return {c.file_refused, c.file_unjournaled};
}

}  // namespace sandboxd
