#include "gate/gate.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <chrono>
#include <semaphore>
#include <thread>

#include "gate/guards.h"
#include "gate/agent_binder.h"
#include "gate/operations.h"
#include "gate/outcome.h"
#include "gate/refused_calls.h"
#include "gate/request.h"
#include "base/file_io.h"
#include "base/syscall_names.h"
#include "base/time_util.h"
#include "journal/journal.h"
#include "journal/writer.h"
#include "landlock/abi.h"
#include "landlock/ruleset.h"

// Linux 6.6; Debian 12's headers predate it.
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

namespace sandboxd {

// A one-slot signal between two threads: spin, then sleep on the atomic.
class Handoff {
public:
    void post() {
        flag_.store(1, std::memory_order_release);
        flag_.notify_one();
    }
    void wait() {
        // Spin briefly, then keep looking while yielding the CPU to
        // whoever is runnable (the agent, the other gate thread): on two
        // CPUs a pure spin would take the CPU the next request needs.
        for (int i = 0; i < kSpins; ++i) {
            if (flag_.exchange(0, std::memory_order_acquire)) return;
            if (i < kPauses) __builtin_ia32_pause();
            else sched_yield();
        }
        for (;;) {
            flag_.wait(0, std::memory_order_acquire);
            if (flag_.exchange(0, std::memory_order_acquire)) return;
        }
    }

private:
    static constexpr int kPauses = 200;   // a few microseconds
    static constexpr int kSpins = 2000;   // then yields: a few hundred microseconds
    std::atomic<int> flag_{0};
};

// Whether a connect() names a pathname unix socket (read from the agent's
// memory; the gate re-reads its own copy when it acts).
bool connects_unix_path(const seccomp_notif& n) {
    sa_family_t family = 0;
    char first = 0;
    iovec local[2] = {{&family, sizeof family}, {&first, 1}};
    iovec remote{reinterpret_cast<void*>(n.data.args[1]), sizeof family + 1};
    if (n.data.args[2] <= sizeof family) return false;
    if (::process_vm_readv(pid_t(n.pid), local, 2, &remote, 1, 0) != ssize_t(sizeof family + 1)) return false;
    return family == AF_UNIX && first != '\0';
}

struct Gate::Impl {
    GateConfig cfg;
    GateContext ctx;
    AgentThreads threads;  // the dispatcher's
    SessionMounts mounts;  // the dispatcher's
    RefusedCalls refused;  // the dispatcher's, until it has ended
    std::unique_ptr<JournalWriter> journal;  // null without a journal
    std::unique_ptr<AgentBinder> binder;
    UniqueFd stop;
    std::thread dispatcher, worker;

    // The hand-over: one request in flight, owned by the dispatcher. Each
    // side spins a little before sleeping: requests come in bursts (an
    // rm -rf) and one operation takes tens of microseconds, about what
    // putting a thread to sleep and waking it costs.
    Handoff to_worker, to_dispatcher;
    std::binary_semaphore worker_ready{0};
    const GateRequest* request = nullptr;
    bool quit = false;
    Status worker_status;
    std::atomic<uint64_t> handled{0};
    // Released by each thread as it ends; the destructor waits on them
    // with a deadline.
    std::binary_semaphore dispatcher_done{0}, worker_done{0};

    void worker_main();
    Status become_agent();
    void dispatcher_main();
    void handle(const seccomp_notif& n);
    bool answer(uint64_t id, const GateOutcome& o);  // false: the caller is gone
    bool journal_failed();  // the worker's
    bool failure_reported = false;
    void log_would_be_denial(const seccomp_notif& n);
};

// This thread only: credentials and Landlock domains are per thread in the
// kernel, and the raw syscalls (unlike glibc's wrappers) leave the other
// threads alone.
Status Gate::Impl::become_agent() {
    if (::unshare(CLONE_FS) != 0) return errno_error("gate worker: cannot get a umask of its own");
    ::umask(kWorkerUmask);
    if (cfg.landlock_ruleset >= 0) {
        for (const auto& store : cfg.stores)
            SANDBOXD_TRY(landlock_add_tree(cfg.landlock_ruleset, store.dir_fd(), cfg.store_access));
        // The agent's own terminal, opened for it by way of /dev/tty: on
        // the host's devpts, which is not in the agent's view.
        if (cfg.agent_tty)
            SANDBOXD_TRY(landlock_add_tree(cfg.landlock_ruleset, cfg.agent_tty.get(),
                                           LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE));
        if (landlock_restrict_self(cfg.landlock_ruleset) != 0)
            return errno_error("gate worker: cannot enter the agent's Landlock domain");
    }
    const Identity& id = cfg.identity;
    if (::syscall(SYS_setgroups, id.groups.size(), id.groups.data()) != 0)
        return errno_error("gate worker: cannot take the agent's groups");
    if (::syscall(SYS_setresgid, id.gid, id.gid, id.gid) != 0) return errno_error("gate worker: cannot take the agent's gid");
    if (::syscall(SYS_setresuid, id.uid, id.uid, id.uid) != 0) return errno_error("gate worker: cannot take the agent's uid");
    // An agent run as uid 0 still has no capabilities; nor has its worker.
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capset, &hdr, data) != 0) return errno_error("gate worker: cannot drop capabilities");
    return {};
}

void Gate::Impl::worker_main() {
    struct Done {
        std::binary_semaphore& ended;
        ~Done() { ended.release(); }
    } done{worker_done};
    worker_status = become_agent();
    worker_ready.release();
    if (!worker_status) return;
    for (;;) {
        to_worker.wait();
        if (quit) return;
        long asked = request->nr;
        bool changes_files = asked != SYS_connect && asked != SYS_bind && asked != SYS_inotify_add_watch;
        GateOutcome o = journal_failed() && changes_files ? failed(ENOSPC) : perform_gated(*request, ctx);
        uint64_t id = request->id;
        pid_t tid = request->pid;
        long nr = request->nr;
        uint16_t epoch = request->exec_epoch;
        // The call's exit tracepoint would journal it a second time.
        bool marked = false;
        if (o.entry && journal) {
            o.entry->time_usec = realtime_usec();
            o.entry->sync_later = true;
            journal->push(std::move(*o.entry));
            ++ctx.lines;
            // (Only the file calls have an exit program that would.)
            if (o.own_line && cfg.gate_lines && changes_files) {
                cfg.gate_lines.mark(tid, epoch, nr);
                marked = true;
            }
        }
        handled.fetch_add(1, std::memory_order_relaxed);
        // The dispatcher goes back to the listener before the agent hears
        // back: answering wakes the agent onto this CPU, and the worker may
        // not run again until the agent blocks on its next call, which the
        // dispatcher should already be waiting for.
        to_dispatcher.post();
        if (!answer(id, o) && marked) cfg.gate_lines.unmark(tid, epoch, nr);
    }
}

// Fail closed: once a journal line could not be written (a full disk),
// an operation's undo record would have nowhere to go, so destructive
// calls are refused from then on (ENOSPC). Its snapshot would still be
// kept, but rollback could only name it an orphan. Said once on stderr.
bool Gate::Impl::journal_failed() {
    if (!journal || !journal->failed()) return false;
    if (!failure_reported) {
        failure_reported = true;
        auto failure = journal->failure();
        std::fprintf(stderr, "sandbox-run: the session's journal cannot be written (%s): its destructive calls are "
                             "refused from now on\n",
                     failure->describe().c_str());
    }
    return true;
}

// The worker answers the agent as soon as the operation is done and its
// line is queued; the journal writer's thread writes it a little later:
// the line costs about as much as the operation, and nothing is lost by
// the order. The snapshot is durable already, the line would be synced
// only in a later batch either way, and the gate flushes the writer before
// it is gone, so the session's end comes after every line of it.
bool Gate::Impl::answer(uint64_t id, const GateOutcome& o) {
    int listener = cfg.listener.get();
    if (o.install) {
        seccomp_notif_addfd add{};
        add.id = id;
        add.flags = SECCOMP_ADDFD_FLAG_SEND;
        add.srcfd = uint32_t(o.install.get());
        add.newfd_flags = o.cloexec ? O_CLOEXEC : 0;
        if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) >= 0) return true;
        if (errno == ENOENT) return false;
        seccomp_notif_resp resp{};
        resp.id = id;
        resp.error = -errno;  // e.g. EMFILE: the agent's table is full
        return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0;
    }
    seccomp_notif_resp resp{};
    resp.id = id;
    resp.val = o.err ? 0 : o.value;
    resp.error = o.err ? -o.err : 0;
    return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0;
}

void Gate::Impl::handle(const seccomp_notif& n) {
    int listener = cfg.listener.get();
    seccomp_notif_resp resp{};
    resp.id = n.id;
    // First: a refused call never reaches what the gate does for others.
    if (const SyscallRefusal* r = refused.find(n.data.nr)) {
        resp.error = -r->err;
        ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        if (auto e = refused.attempt(n, *r); e && journal) {
            if (auto t = threads.get(pid_t(n.pid))) e->comm = (*t)->name;
            journal->push(std::move(*e));
        }
        return;
    }
    if (cfg.audit && cfg.audited.count(n.data.nr) && gate_handles(n.data.nr)) log_would_be_denial(n);
    if (!gate_handles(n.data.nr)) {
        if (cfg.audit) {
            log_would_be_denial(n);
            resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        } else {
            resp.error = -ENOSYS;  // nothing else is ever sent here: refuse
        }
        ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        return;
    }
    // connect(): only pathname unix sockets need the gate; everything else
    // goes on to the kernel, whose own checks (cgroup BPF, Landlock) act on
    // its copy of the address. Swapping in a unix path after this look
    // meets the connect_unix hook, which refuses agent threads.
    if (n.data.nr == SYS_connect && !connects_unix_path(n)) {
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        return;
    }
    // Before the request is fetched, which ends by checking the call is
    // still pending (see GateLineMarks::epoch).
    uint16_t epoch = cfg.gate_lines ? cfg.gate_lines.epoch(pid_t(n.pid)) : 0;
    auto req = fetch_request(listener, n, threads, mounts);
    if (!req) {
        // Answered also when the thread seems gone (ESRCH): if it is, the
        // kernel says ENOENT to this and nothing happens; if it is not,
        // an unanswered call would hang it for good.
        resp.error = -req.error().code;
        ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        return;
    }
    req->exec_epoch = epoch;
    request = &*req;
    to_worker.post();
    to_dispatcher.wait();
}

// The agent's next destructive call usually follows at once (an rm -rf, a
// loop): the dispatcher looks for it this long, yielding, before it sleeps.
// Waking a sleeping dispatcher is an interrupt to another CPU (a VM exit
// here); 100 looks (about 60 us) instead of 200 us made 20,000
// create/write/unlink cycles 6% slower. An idle agent costs at most this
// much of a CPU after each gated call.
constexpr int64_t kPollSpinNsec = 200'000;

void Gate::Impl::log_would_be_denial(const seccomp_notif& n) {
    if (!journal) return;
    JournalEntry e;
    e.action = "syscall";
    e.target = syscall_name(n.data.nr);
    e.decision = "log";
    e.rule = "would be denied: syscalls.deny " + e.target;
    e.layer = "seccomp-notify";
    e.pid = int32_t(n.pid);
    e.err = EPERM;
    if (auto t = threads.get(pid_t(n.pid))) e.comm = (*t)->name;  // the dispatcher's table: read afresh
    e.detail = {{"args", {n.data.args[0], n.data.args[1], n.data.args[2], n.data.args[3], n.data.args[4], n.data.args[5]}}};
    journal->push(std::move(e));
}

void Gate::Impl::dispatcher_main() {
    struct Done {
        std::binary_semaphore& ended;
        ~Done() { ended.release(); }
    } done{dispatcher_done};
    pollfd fds[2] = {{cfg.listener.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
    for (;;) {
        int n = 0;
        for (int64_t until = monotonic_nsec() + kPollSpinNsec; n == 0 && monotonic_nsec() < until;) {
            n = ::poll(fds, 2, 0);
            if (n == 0) sched_yield();
        }
        if (n == 0) n = ::poll(fds, 2, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents) break;
        if (!(fds[0].revents & POLLIN)) {
            if (fds[0].revents & (POLLHUP | POLLERR)) break;  // no agent left
            continue;
        }
        seccomp_notif notif{};
        if (::ioctl(cfg.listener.get(), SECCOMP_IOCTL_NOTIF_RECV, &notif) != 0) {
            if (errno == EINTR || errno == ENOENT) continue;
            break;
        }
        handle(notif);
    }
}

Gate::Gate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gate::~Gate() {
    Impl& s = *impl_;
    uint64_t one = 1;
    ssize_t ignored = ::write(s.stop.get(), &one, sizeof one);
    (void)ignored;
    // The worker could be stuck in a syscall the agent's world controls (an
    // open or connect nobody answers), and the dispatcher waiting on it.
    // The session is over by now: wait a little, then leave both threads to
    // the process's exit rather than hang the supervisor (and keep what
    // they use alive with them). The dispatcher stops first, so that no
    // request is in flight when the worker is told to quit.
    using std::chrono::milliseconds;
    bool dispatcher_ended = s.dispatcher_done.try_acquire_for(milliseconds(3000));
    bool worker_ended = false;
    if (dispatcher_ended) {
        s.quit = true;
        s.to_worker.post();
        worker_ended = s.worker_done.try_acquire_for(milliseconds(1000));
    }
    // Totals of refused calls whose last attempt had no line: only once the
    // dispatcher, which counts them, has ended.
    if (dispatcher_ended && s.journal)
        for (auto& e : s.refused.totals()) s.journal->push(std::move(e));
    else if (s.journal)
        std::fprintf(stderr, "sandbox-run: the gate did not stop in time: the totals of refused syscalls are not "
                             "journaled (each 1st, 2nd, 4th... attempt is)\n");
    // Every line of what was done is written and synced before the gate is
    // gone (the session's end line comes after them).
    if (s.journal) s.journal->flush();
    if (dispatcher_ended && worker_ended) {
        s.dispatcher.join();
        s.worker.join();
        return;
    }
    s.dispatcher.detach();
    s.worker.detach();
    (void)impl_.release();
}

uint64_t Gate::handled() const { return impl_->handled.load(std::memory_order_relaxed); }
uint64_t Gate::snapshot_bytes() const { return impl_->cfg.budget->used.load(); }

std::optional<Error> Gate::journal_failure() const {
    if (!impl_->journal || !impl_->journal->failed()) return std::nullopt;
    return impl_->journal->failure();
}

void Gate::flush_journal() {
    if (impl_->journal) impl_->journal->flush();
}

Result<std::unique_ptr<Gate>> Gate::start(GateConfig cfg) {
    auto impl = std::make_unique<Impl>();
    Impl& s = *impl;
    s.cfg = std::move(cfg);
    if (!s.cfg.budget) s.cfg.budget = std::make_shared<SnapshotBudget>();
    s.ctx.stores = &s.cfg.stores;  // empty: only connect() is gated
    s.ctx.budget = s.cfg.budget;
    s.threads = AgentThreads(s.cfg.root_fixed, s.cfg.agent_state);
    s.refused = RefusedCalls(std::move(s.cfg.refusals));
    s.ctx.session_start_usec = s.cfg.session_start_usec;
    s.ctx.agent_uid = s.cfg.identity.uid;
    s.ctx.read_denied = s.cfg.read_denied;
    s.ctx.destroyable = s.cfg.destroyable;
    s.ctx.guarded = s.cfg.guarded;
    s.ctx.hidden_parents = std::move(s.cfg.hidden_parents);
    for (const auto& g : s.cfg.guarded)
        if (!g.dir_path.empty()) s.ctx.roots_of.push_back(g);
    for (const auto& g : s.ctx.roots_of) {
        // Only the directory the plan looked at: one swapped in since is
        // not followed (its inode guards still hold).
        UniqueFd dir(::open(g.dir_path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        struct stat st{};
        if (dir && ::fstat(dir.get(), &st) == 0 && st.st_dev == g.dev && st.st_ino == g.ino)
            s.ctx.guard_roots.push_back({std::move(dir), &g, guard_chain(g)});
    }
    s.ctx.audit = s.cfg.audit;
    s.ctx.journal_creates = s.cfg.journal_creates;
    s.ctx.sees_creates = s.cfg.sees_creates;
    s.ctx.listener = s.cfg.listener.get();
    s.ctx.connector = s.cfg.connector.get();
    s.ctx.agent_tty = s.cfg.agent_tty.get();
    s.ctx.agent_tty_master = s.cfg.agent_tty_master.get();
    s.ctx.freeze_state = s.cfg.freeze_state.get();
    // Started here, while this thread still has the capabilities to take
    // the agent's root (the worker has none).
    s.binder = AgentBinder::start(s.cfg.identity, s.cfg.landlock_ruleset);
    s.ctx.binder = s.binder.get();
    // The session's own /tmp and /dev/shm: gone with it, no snapshots.
    for (const char* p : {"tmp", "dev/shm"}) {
        std::string path = "/proc/" + std::to_string(s.cfg.agent_pid) + "/root/" + p;
        struct stat st{};
        if (::stat(path.c_str(), &st) == 0) s.ctx.private_devs.push_back(st.st_dev);
    }
    if (s.cfg.journal) s.journal = std::make_unique<JournalWriter>(*s.cfg.journal, s.cfg.annotate);
    s.stop = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!s.stop) return errno_error("cannot create the gate's stop event");
    // The agent's thread wakes ours directly when it blocks on a gated call
    // (and we wake it back), rather than leaving both to the scheduler.
    // Best effort: a kernel before 6.6 just answers more slowly.
    (void)::ioctl(s.cfg.listener.get(), SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);

    s.worker = std::thread([&s] { s.worker_main(); });
    s.worker_ready.acquire();
    if (!s.worker_status) {
        Error e = s.worker_status.error();
        s.worker.join();
        return e;
    }
    s.dispatcher = std::thread([&s] { s.dispatcher_main(); });
    return std::unique_ptr<Gate>(new Gate(std::move(impl)));
}

}  // namespace sandboxd
