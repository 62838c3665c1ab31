#include "runner/run_session.h"
#include "runner/plan.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "base/terminal_text.h"
#include "base/file_io.h"
#include "base/paths.h"
#include "base/time_util.h"
#include "cgroup/abandoned.h"
#include "cgroup/control.h"
#include "cgroup/layout.h"
#include "cgroup/session_cgroup.h"
#include "gate/gate.h"
#include "snapshot/store.h"
#include "journal/journal.h"
#include "landlock/policy.h"
#include "landlock/ruleset.h"
#include "launch/identity.h"
#include "launch/spawn.h"
#include "mounts/plan.h"
#include "bpf/events.h"
#include "bpf/net_plan.h"
#include "bpf/session_programs.h"
#include "policy/seccomp_policy.h"
#include "base/syscall_names.h"
#include "profile/loader.h"
#include "runner/signals.h"
#include "runner/stdio_relay.h"
#include "runner/agent_terminal.h"
#include "session/dirs.h"
#include "snapshot/retention.h"
#include "session/record.h"
#include "session/registry.h"
#include "profile/scope_check.h"

extern char** environ;

namespace sandboxd {
namespace {

// The session's start tells what the agent made (statx birth time at or
// after it) from what was there before (birth time before it), and its end
// the agent's changes from later ones (ctime after it). The kernel
// stamps files from a clock that can lag the exact one by a tick, so a file
// the agent makes just after the start could look older than it, and an
// edit just after the end older than the end. Waiting here until that clock
// has passed the moment keeps both sides exact: the set-up before the
// start (or the clean-up after the end) mostly takes longer than a tick.
void wait_until_files_are_stamped_after(int64_t usec) {
    for (int i = 0; i < 200 && realtime_coarse_usec() <= usec; ++i) ::usleep(250);
}

constexpr int kSetupFailed = 125;

ExitStatus failed(const Error& e) { return ExitStatus{kSetupFailed, e.describe()}; }

// Removes a session's state directory unless the session got as far as its
// first journal line: a session that never started leaves nothing behind.
class StateDirGuard {
public:
    explicit StateDirGuard(std::string path) : path_(std::move(path)) {}
    ~StateDirGuard() {
        if (committed_) return;
        std::string journal = path_ + "/journal.jsonl";
        ::unlink(journal.c_str());
        ::rmdir((path_ + "/snapshots").c_str());
        ::rmdir(path_.c_str());
    }
    void commit() { committed_ = true; }

private:
    std::string path_;
    bool committed_ = false;
};

// Whether `cmd` can be found at all, by the agent's PATH rules. Checked as
// root before anything is created: what root cannot find, the agent cannot
// either, so "not found" costs no session. Whether the agent may execute it
// is for the exec itself to say.
bool command_exists(const std::string& cmd, const std::vector<std::string>& env, const std::string& cwd) {
    // Relative names resolve from the agent's working directory, not ours.
    auto at_cwd = [&](const std::string& p) { return p.starts_with('/') ? p : cwd + "/" + p; };
    if (cmd.find('/') != std::string::npos) return ::access(at_cwd(cmd).c_str(), F_OK) == 0;
    std::string path = "/usr/local/bin:/usr/bin:/bin";
    for (const auto& e : env)
        if (e.starts_with("PATH=")) path = e.substr(5);
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        if (dir.empty()) dir = ".";
        if (::access(at_cwd(dir + "/" + cmd).c_str(), F_OK) == 0) return true;
        start = end + 1;
    }
    return false;
}

// Removes the state entry when the session ends, however it ends.
class RecordGuard {
public:
    explicit RecordGuard(std::string path) : path_(std::move(path)) {}
    ~RecordGuard() { ::unlink(path_.c_str()); }

private:
    std::string path_;
};


// The agent's environment, but for SANDBOXD_SESSION (added once the id exists).
std::vector<std::string> agent_environment(const Identity& id, const std::string& profile) {
    std::vector<std::string> env;
    // Identity variables describe the agent, not whoever started sandbox-run.
    auto replaced = [](std::string_view kv) {
        for (std::string_view k : {"HOME=", "USER=", "LOGNAME=", "SANDBOXD_"})
            if (kv.starts_with(k)) return true;
        return false;
    };
    for (char** e = environ; *e; ++e)
        if (!replaced(*e)) env.emplace_back(*e);
    env.push_back("HOME=" + id.home);
    env.push_back("USER=" + id.user);
    env.push_back("LOGNAME=" + id.user);
    env.push_back("SANDBOXD_PROFILE=" + profile);
    bool has_path = false;
    for (const auto& e : env) has_path = has_path || e.starts_with("PATH=");
    if (!has_path) env.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
    return env;
}

int status_from_siginfo(const siginfo_t& info) {
    if (info.si_code == CLD_EXITED) return info.si_status;
    return 128 + info.si_status;  // CLD_KILLED, CLD_DUMPED
}

// Clears entries a dead supervisor left behind with an empty cgroup. Live
// and orphaned sessions (processes still running) are left alone.
void reap_stale_sessions(const SandboxdDirs& dirs) {
    std::vector<std::string> problems;
    for (const auto& s : list_sessions(dirs, problems))
        if (s.state == SessionState::Stale) (void)reap_stale(s);
}

}  // namespace

ExitStatus run_session(const RunOptions& opts) {
    if (opts.argv.empty()) return {kSetupFailed, "no command given; usage: sandbox-run [OPTIONS] -- CMD [ARGS...]"};
    if (::geteuid() != 0)
        return {kSetupFailed,
                "sandbox-run needs root to set up a session (no sandboxd daemon to ask); run it with sudo"};

    auto signals = ForwardedSignals::block();
    if (!signals) return failed(signals.error());

    SandboxdDirs dirs = SandboxdDirs::from_env();
    auto plan = make_plan(opts, dirs);
    if (!plan) return failed(plan.error());
    std::vector<std::string> agent_env = agent_environment(plan->identity, plan->profile.name);
    if (!command_exists(opts.argv.front(), agent_env, plan->workspace))
        return {127, opts.argv.front() + ": command not found"};

    reap_stale_sessions(dirs);
    // Quietly: what an earlier killed run left is not this run's business
    // to report, only to clear.
    (void)sweep_abandoned_cgroups(plan->cgroups);
    auto id = new_session_id();
    if (!id) return failed(id.error());

    if (auto st = make_dirs(dirs.sessions_dir(), 0755); !st) return failed(st.error());
    if (auto st = make_dirs(dirs.session_state_dir(*id), 0700); !st) return failed(st.error());
    StateDirGuard state_dir(dirs.session_state_dir(*id));

    auto cgroup = SessionCgroup::create(plan->cgroups, *id, plan->profile.limits);
    if (!cgroup) return failed(cgroup.error());
    std::vector<std::string> unapplied;
    if (auto st = cgroup->apply_limits(plan->profile.limits, unapplied); !st) return failed(st.error());
    // Warnings name paths, some of them the agent's (entries beside a hidden path).
    for (const auto& u : unapplied) fprintf(stderr, "sandbox-run: warning: %s\n", terminal_safe(u).c_str());
    if (plan->landlock)
        for (const auto& w : plan->landlock->warnings)
            fprintf(stderr, "sandbox-run: warning: %s\n", terminal_safe(w).c_str());
    // Attached before the agent exists, so its first packet meets them.
    SessionPrograms::Options events;
    events.audit = opts.audit;
    events.file_events = plan->profile.events.files;
    events.log_reads = plan->profile.events.reads;
    events.gate_journals_binds = plan->seccomp.gated;
    events.unix_hooks_optional = accepts_missing(plan->profile, "unix-socket-hooks");
    events.agent_state = plan->seccomp.gated;
    auto bpf = SessionPrograms::start(plan->network, events, cgroup->v2_dirfd());
    if (!bpf) return failed(bpf.error());
    if (!bpf->unix_hooks())
        plan->weakened.push_back({"unix-socket-hooks", "no cgroup BPF hooks for unix sockets (Linux 6.7): only "
                                                       "the gate checks pathname unix sockets"});
    for (const auto& w : plan->weakened)
        fprintf(stderr, "sandbox-run: warning: weaker sandbox, accepted by profile %s ([kernel] accept_missing "
                        "\"%s\"): %s\n", plan->profile.name.c_str(), w.id.c_str(), w.what.c_str());
    if (!bpf->net_refusals_problem().empty())
        fprintf(stderr, "sandbox-run: warning: the connects and binds Landlock refuses will not be journaled (the "
                        "cgroup hooks' decisions are): %s\n", bpf->net_refusals_problem().c_str());
    if (!bpf->agent_state_problem().empty())
        fprintf(stderr, "sandbox-run: note: the snapshot gate reads each agent thread's working directory and umask "
                        "afresh for every call (slower): %s\n", bpf->agent_state_problem().c_str());
    for (const auto& h : plan->network.unresolved)
        fprintf(stderr, "sandbox-run: warning: network.connect host %s did not resolve; nothing allowed for it\n",
                h.c_str());

    auto journal = Journal::open(dirs.journal_path(*id), *id);
    if (!journal) return failed(journal.error());

    SessionRecord rec;
    rec.id = *id;
    rec.name = opts.name.value_or("");
    rec.supervisor_pid = ::getpid();
    rec.supervisor_start = process_start_time(rec.supervisor_pid);
    rec.uid = plan->identity.uid;
    rec.gid = plan->identity.gid;
    rec.user = plan->identity.user;
    rec.profile = plan->profile.name;
    rec.profile_source = plan->profile.source;
    rec.tier = plan->profile.tier;
    rec.audit = opts.audit;
    rec.started_usec = realtime_usec();  // see wait_until_files_are_stamped_after()
    rec.workspace = plan->workspace;
    rec.cgroup = cgroup->v2_path();
    rec.cgroup_v1 = cgroup->v1_paths();
    rec.journal = journal->path();
    rec.argv = opts.argv;
    std::string record_path = dirs.record_path(*id);
    if (auto st = write_record(record_path, rec); !st) return failed(st.error());
    RecordGuard record_guard(record_path);

    // The snapshot store exists before the agent does: a store that cannot
    // be made is a session that does not start.
    std::vector<SnapshotStore> stores;
    auto budget = std::make_shared<SnapshotBudget>();
    budget->limit = plan->profile.snapshots.budget_bytes;
    if (plan->seccomp.destructive_gate) {
        auto s = SnapshotStore::create(dirs.session_state_dir(*id) + "/snapshots", plan->identity.uid,
                                       plan->identity.gid, budget);
        if (!s) return failed(s.error());
        stores.push_back(std::move(*s));
        for (const auto& root : plan->snapshot_mounts) {
            auto other = SnapshotStore::create_in(store_parent_at(root), *id, plan->identity.uid, plan->identity.gid, budget);
            if (!other) return failed(other.error());
            stores.push_back(std::move(*other));
        }
    }

    JournalEntry start;
    start.action = "session.start";
    start.target = opts.argv.front();
    start.decision = "allow";
    start.rule = "profile:" + plan->profile.name;
    start.layer = "supervisor";
    start.pid = ::getpid();
    start.comm = "sandbox-run";
    start.durable = true;
    start.detail = {{"profile", plan->profile.name},
                    {"profile_source", plan->profile.source},
                    {"tier", plan->profile.tier},
                    {"audit", opts.audit},
                    {"uid", plan->identity.uid},
                    {"gid", plan->identity.gid},
                    {"user", plan->identity.user},
                    {"workspace", plan->workspace},
                    {"argv", opts.argv},
                    {"name", rec.name},
                    {"cgroup", rec.cgroup},
                    {"limits_unapplied", unapplied},
                    {"landlock_abi", plan->landlock ? plan->landlock->abi : 0},
                    {"network_resolved", plan->network.resolved},
                    {"network_unresolved", plan->network.unresolved},
                    {"landlock_rules", plan->landlock ? plan->landlock->fs_rules.size() : 0},
                    {"snapshots", plan->seccomp.destructive_gate},
                    {"gate_caches", bool(bpf->agent_state())},
                    {"landlock_net_refusals_journaled", bpf->net_refusals_problem().empty()},
                    {"write_trees", [&] {
                         std::vector<std::string> v;
                         for (const auto& w : plan->profile.write)
                             if (w.exists) v.push_back(w.path);
                         return v;
                     }()},
                    {"snapshot_stores", [&] {
                         std::vector<std::string> v;
                         for (const auto& st : stores) v.push_back(st.dir());
                         return v;
                     }()},
                    {"snapshot_budget", plan->profile.snapshots.budget_bytes},
                    {"snapshot_retention_sec", plan->profile.snapshots.retention_sec},
                    {"weakened", [&] {
                         std::vector<std::string> v;
                         for (const auto& w : plan->weakened) v.push_back(w.id);
                         return v;
                     }()},
                    {"started_usec", rec.started_usec}};
    // Ending the session undoes starting it: the cgroup goes, the agent dies.
    start.undo = {{"op", "session.kill"}, {"cgroup", rec.cgroup}};
    if (auto seq = journal->append(start); !seq) return failed(seq.error());
    state_dir.commit();

    UniqueFd ruleset;
    if (plan->landlock) {
        auto rs = build_landlock_ruleset(*plan->landlock);
        if (!rs) return failed(rs.error());
        ruleset = std::move(*rs);
    }

    // Where no pty can be had (no devpts mounted), the agent's terminal
    // streams are pipes: never the user's terminal itself.
    auto terminal = AgentTerminal::open(plan->identity.uid, plan->identity.gid);
    if (!terminal) {
        std::fprintf(stderr, "sandbox-run: warning: %s: the agent's terminal streams are pipes\n",
                     terminal.error().describe().c_str());
        terminal = std::unique_ptr<AgentTerminal>();
    }
    auto relay = StdioRelay::start(/*terminals=*/!*terminal);
    if (!relay) return failed(relay.error());
    SpawnSpec spec;
    for (int i = 0; i < 3; ++i) {
        spec.stdio[i] = (*relay)->agent_fd(i);
        if (spec.stdio[i] < 0 && *terminal && (*terminal)->agent_fd(i) >= 0) {
            spec.stdio[i] = (*terminal)->agent_fd(i);
            if (spec.controlling_terminal < 0 && (*terminal)->pty(i)) spec.controlling_terminal = i;
        }
    }
    spec.argv = opts.argv;
    spec.env = std::move(agent_env);
    spec.env.push_back("SANDBOXD_SESSION=" + *id);
    spec.cwd = plan->workspace;
    spec.identity = plan->identity;
    spec.seccomp = &plan->seccomp;
    spec.landlock_ruleset_fd = ruleset.get();
    spec.mounts = &plan->mounts;
    spec.tmp_access = plan->landlock ? plan->landlock->private_tmp_access : 0;
    if (plan->landlock && !plan->mounts.tmp_destroy) spec.tmp_access &= ~plan->landlock->destroy_access;
    spec.proc_access = plan->landlock ? plan->landlock->proc_access : 0;
    spec.cgroup_v2_dirfd = cgroup->v2_dirfd();
    spec.cgroup_join_fds = cgroup->v1_join_fds();
    wait_until_files_are_stamped_after(rec.started_usec);
    auto spawned = spawn_agent(spec);
    (*relay)->agent_started();
    if (*terminal) (*terminal)->agent_started();
    if (!spawned) return failed(spawned.error());

    // The agent may already be waiting on a gated call: that is fine, it
    // waits until the gate is up.
    std::unique_ptr<Gate> gate;
    if (spawned->listener) {
        GateConfig gc;
        gc.listener = std::move(spawned->listener);
        gc.connector = std::move(spawned->connector);
        // Without the hooks' leave, init's connects would be refused: the
        // worker then makes them itself, as before there was a connector.
        if (gc.connector && !bpf->set_connector(spawned->child.pid)) gc.connector.reset();
        if (*terminal && (*terminal)->slave_path() >= 0) {
            gc.agent_tty = UniqueFd(::fcntl((*terminal)->slave_path(), F_DUPFD_CLOEXEC, 0));
            gc.agent_tty_master = UniqueFd(::fcntl((*terminal)->master(), F_DUPFD_CLOEXEC, 0));
            if (!gc.agent_tty || !gc.agent_tty_master) {
                (void)cgroup->destroy();
                return failed(errno_error("cannot hand the agent's terminal to the gate"));
            }
        }
        gc.identity = plan->identity;
        gc.landlock_ruleset = ruleset.get();
        gc.store_access = plan->landlock ? plan->landlock->private_tmp_access : 0;
        gc.stores = std::move(stores);
        gc.budget = budget;
        gc.session_start_usec = rec.started_usec;
        gc.journal = &*journal;
        gc.agent_pid = spawned->child.pid;
        gc.root_fixed = plan->seccomp.denied.count("%clone-namespaces") && plan->seccomp.denied.count("%clone3") &&
                        plan->seccomp.denied.count("setns");
        gc.agent_state = bpf->agent_state();
        gc.gate_lines = bpf->gate_lines();
        gc.audit = opts.audit;
        if (opts.audit)
            gc.annotate = [&plan](JournalEntry& e) { mark_would_be_denial(e, plan->profile, plan->workspace); };
        gc.guarded = plan->mounts.guarded;
        gc.journal_creates = plan->journal_creates;
        gc.sees_creates = plan->create_gate;
        gc.freeze_state = UniqueFd(::openat(cgroup->v2_dirfd(), "cgroup.freeze", O_RDONLY | O_CLOEXEC));
        gc.refusals = plan->seccomp.refusals;
        for (const auto& name : plan->seccomp.logged)
            if (int nr = syscall_number(name); nr >= 0 && !name.starts_with('%')) gc.audited.insert(nr);
        // Hidden paths also as the kernel reaches them: through a
        // symlinked directory, or where a hidden symlink leads.
        gc.read_denied = [&plan](const std::string& path) -> std::optional<std::string> {
            if (auto d = would_deny(plan->profile, FileAccess::Read, path)) return d;
            if (plan->landlock)
                for (const auto& h : plan->landlock->hidden)
                    if (path_is_under(path, h)) return "filesystem.hide";
            return std::nullopt;
        };
        gc.destroyable = [&plan](const std::string& path) {
            return !would_deny(plan->profile, FileAccess::Destroy, path).has_value();
        };
        // The directories holding them, for watches (gate/watch_op.cpp).
        for (const auto* list : {&plan->mounts.hide_dirs, &plan->mounts.hide_files})
            for (const auto& h : *list)
                if (struct stat st{}; ::stat(parent_path(h).c_str(), &st) == 0) gc.hidden_parents.insert({st.st_dev, st.st_ino});
        if (plan->landlock)
            for (const auto& h : plan->landlock->hidden)
                if (struct stat st{}; ::stat(parent_path(h).c_str(), &st) == 0) gc.hidden_parents.insert({st.st_dev, st.st_ino});
        auto g = Gate::start(std::move(gc));
        if (!g) {
            (void)cgroup->destroy();
            return failed(g.error());
        }
        gate = std::move(*g);
    }

    // Every decision and exec the BPF programs saw, into the journal: what
    // one read of the ring buffer yields goes in with one write.
    constexpr size_t kEventBatch = 512;
    std::vector<JournalEntry> event_batch;
    // Lines that could not be written (a full disk): the session is ended
    // at the first (end_unjournaled below), and the count said at the end.
    std::optional<Error> journal_failure;
    uint64_t lines_lost = 0;
    // Fail closed: an agent whose actions can no longer be journaled (the
    // journal's disk is full) does not go on unrecorded. The gate already
    // refuses destructive calls then; everything else would run with no
    // line, and the lines that were lost would leave no trace.
    bool ended_unjournaled = false;
    UniqueFd journal_fd(::open(journal->path().c_str(), O_RDONLY | O_CLOEXEC));
    auto end_unjournaled = [&] {
        if (ended_unjournaled) return;
        if (!journal_failure && gate) journal_failure = gate->journal_failure();
        // Past the profile's limit is as good as a full disk.
        struct stat js{};
        if (!journal_failure && journal_fd && ::fstat(journal_fd.get(), &js) == 0 &&
            uint64_t(js.st_size) > plan->profile.events.journal_limit_bytes)
            journal_failure = Error{EFBIG, "it reached the profile's limit of " +
                                               std::to_string(plan->profile.events.journal_limit_bytes) +
                                               " bytes ([events] journal_limit)"};
        if (!journal_failure) return;
        ended_unjournaled = true;
        std::fprintf(stderr, "sandbox-run: the session's journal cannot take more lines (%s): ending the session, "
                             "whose actions could no longer be recorded\n",
                     journal_failure->describe().c_str());
        (void)cgroup_kill(cgroup->v2_path(), 2000);
    };
    auto write_events = [&] {
        if (event_batch.empty()) return;
        if (auto seq = journal->append_all(event_batch); !seq) {
            if (!journal_failure) journal_failure = seq.error();
            lines_lost += event_batch.size();
        }
        event_batch.clear();
        // Also in the middle of a flood, which one read of the ring can
        // be: the agent would run on for as long as it lasts.
        end_unjournaled();
    };
    auto journal_events = [&] {
        bpf->consume([&](const void* data, size_t size) {
            auto entry = journal_entry_for_event(data, size);
            if (!entry) return;
            name_program_of_descriptor_exec(*entry);
            if (opts.audit) mark_would_be_denial(*entry, plan->profile, plan->workspace);
            event_batch.push_back(std::move(*entry));
            if (event_batch.size() >= kEventBatch) write_events();  // a flood: bounded memory
        });
        write_events();
    };

    int64_t t0 = monotonic_nsec();
    ExitStatus result;
    JournalEntry end;
    end.action = "session.end";
    end.target = opts.argv.front();
    end.decision = "info";
    end.layer = "supervisor";
    end.pid = ::getpid();
    end.comm = "sandbox-run";
    end.durable = true;

    if (spawned->failure.step != SpawnStep::None) {
        const SpawnFailure& f = spawned->failure;
        if (f.step == SpawnStep::Exec) {
            // As a shell: 127 when nothing by that name exists, 126 when it
            // exists but cannot be executed.
            bool missing = f.err == ENOENT || f.err == ENOTDIR;
            result.code = missing ? 127 : 126;
            result.message = opts.argv.front() + ": " +
                             (missing ? std::string("command not found") : std::string(strerror(f.err)));
        } else if (f.step == SpawnStep::Killed) {
            result.code = 128 + f.err;  // as a shell reports a killed command
            result.message = std::string("the agent was killed while starting (") + strsignal(f.err) + ")";
        } else {
            result.code = kSetupFailed;
            result.message = std::string("setting up the agent failed while ") +
                             spawn_step_name(f.step) + ": " + strerror(f.err);
        }
        end.err = f.step == SpawnStep::Killed ? 0 : f.err;
        end.detail = {{"exit_code", result.code}, {"failed_step", spawn_step_name(f.step)}};
    } else {
        Child& child = spawned->child;
        rec.agent_pid = child.pid;
        (void)write_record(record_path, rec);

        siginfo_t info{};
        // Frozen (the kill switch): every line of what the agent did is
        // written, and a line says so, before anyone rolls back. The
        // gate answers the agent before its line is written.
        UniqueFd events_file(::open((cgroup->v2_path() + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC));
        bool was_frozen = false;
        auto on_cgroup_event = [&] {
            char buf[256];
            ssize_t len = ::pread(events_file.get(), buf, sizeof buf - 1, 0);  // also re-arms the notification
            if (len <= 0) return;
            buf[len] = '\0';
            bool frozen = std::strstr(buf, "frozen 1") != nullptr;
            if (frozen && !was_frozen) {
                if (gate) gate->flush_journal();
                journal_events();
                JournalEntry q =
                    info_entry("session.quiesced", "frozen: every line of what the agent did is written", "supervisor");
                // Rollback's end of the agent's changes while it stays
                // frozen: later ones (by hand) are conflicts.
                int64_t quiesced = realtime_usec();
                wait_until_files_are_stamped_after(quiesced);
                q.detail = {{"quiesced_usec", quiesced}};
                q.durable = true;
                (void)journal->append(q);
            } else if (!frozen && was_frozen) {
                // Not frozen for a moment while cgroup.freeze does not say 0
                // (or cannot be read): its processes are being killed (or
                // one is joining), not thawed. The frozen spell goes on, and
                // its quiesced line holds.
                auto want = read_file(cgroup->v2_path() + "/cgroup.freeze");
                if (!want || !want->starts_with('0')) return;
                // Thawed, by sandboxctl or by anyone writing cgroup.freeze:
                // rollback's end of the agent's changes is no longer the
                // quiesced line's.
                JournalEntry t = info_entry("session.resumed", "thawed: the agent runs again", "supervisor");
                t.durable = true;
                (void)journal->append(t);
            }
            was_frozen = frozen;
        };
        pollfd fds[4] = {{signals->fd(), POLLIN, 0},
                         {child.pidfd.get(), POLLIN, 0},
                         {bpf->events_fd(), POLLIN, 0},
                         {events_file.get(), POLLPRI, 0}};
        for (;;) {
            // The programs wake us only once a batch is waiting; the rest
            // is read on this timeout (SBX_EVENTS_WAKE_BYTES).
            int n = ::poll(fds, events_file ? 4 : 3, SBX_EVENTS_POLL_MS);
            if (n > 0 && (fds[3].revents & (POLLPRI | POLLERR))) on_cgroup_event();
            if (n == 0) journal_events();
            if (n < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (fds[0].revents & POLLIN) {
                signalfd_siginfo si{};
                while (::read(signals->fd(), &si, sizeof si) == sizeof si) {
                    // Also what the terminal sent (^C where stdin is no
                    // terminal, a hang-up): the agent is in no process group
                    // of ours. init, which is, passes on only what comes from
                    // here.
                    ::syscall(SYS_pidfd_send_signal, child.pidfd.get(), int(si.ssi_signo), nullptr, 0);
                }
            }
            if (fds[2].revents & POLLIN) journal_events();
            end_unjournaled();
            if (fds[1].revents & (POLLIN | POLLHUP)) {
                if (::waitid(P_PIDFD, child.pidfd.get(), &info, WEXITED) == 0) break;
                if (errno != EINTR) break;
            }
        }
        result.code = status_from_siginfo(info);
        end.detail = {{"exit_code", result.code},
                      {"signal", info.si_code == CLD_EXITED ? 0 : info.si_status},
                      {"duration_ms", (monotonic_nsec() - t0) / 1000000}};
    }

    journal_events();
    (void)journal->append(
        info_entry("file.reads", "successful opens for reading", "tracepoint", {{"count", bpf->reads()}}));
    if (uint64_t lost = bpf->dropped(); lost > 0)
        (void)journal->append(info_entry("events.dropped", "session ring buffer", "bpf", {{"count", lost}}));
    if (auto net = bpf->net_counts(); net.unjournaled > 0)
        (void)journal->append(info_entry("net.sampled",
                                         "network decisions past the first " + std::to_string(SBX_NET_EVENTS_IN_FULL) +
                                             " of a kind: only every power of two journaled",
                                         "cgroup-bpf",
                                         {{"allowed", net.allowed}, {"refused", net.refused},
                                          {"not_journaled", net.unjournaled}}));
    if (auto files = bpf->file_refusals(); files.unjournaled > 0)
        (void)journal->append(info_entry("file.sampled",
                                         "file calls and execs refused past the first " +
                                             std::to_string(SBX_FILE_REFUSALS_IN_FULL) +
                                             ": only every power of two journaled",
                                         "tracepoint", {{"refused", files.refused}, {"not_journaled", files.unjournaled}}));

    if (!journal_failure && gate) journal_failure = gate->journal_failure();
    if (journal_failure) {
        end.detail["event_lines_lost"] = lines_lost;
        result.code = kSetupFailed;
        result.message = std::string(ended_unjournaled ? "the session was ended: " : "") +
                         "its journal cannot take more lines (" + journal_failure->describe() + ")" +
                         (lines_lost ? "; " + std::to_string(lines_lost) + " event lines are lost" : "");
    }

    // The agent's descendants die with the session: kill the whole cgroup.
    auto left = cgroup_process_count(cgroup->v2_path());
    if (auto st = cgroup->destroy(); !st) {
        if (result.message.empty()) result.message = "cleanup: " + st.error().describe();
    }
    // Every process of the session is gone: what it wrote is in the pipes.
    (*relay)->finish(2000);
    if (*terminal) (*terminal)->finish(2000);
    // What the agent wrote is not all where the caller sent it: an agent
    // that succeeded does not make a session that did (a shell's
    // `cmd > /dev/full` fails too). 125: sandbox-run itself failed.
    if (auto lost = (*relay)->lost(); !lost.empty()) {
        end.detail["output_lost"] = lost;
        if (result.code == 0) {
            result.code = kSetupFailed;
            result.message = "the agent exited 0, but its " + lost.front() +
                             " could not all be written to the file it was sent to (see above)";
        }
    }
    end.detail["processes_killed_at_end"] = left ? *left : -1;
    if (gate) {
        end.detail["gated_calls"] = gate->handled();
        end.detail["snapshot_bytes"] = gate->snapshot_bytes();
        gate.reset();  // after the kill: nothing is left to ask it anything
    }
    // Only now: the gate's caches rely on the count of chdir and umask calls
    // until it is gone, and processes left behind run until the kill.
    bpf->detach_tracepoints_in_background();
    int64_t ended = realtime_usec();
    end.detail["ended_usec"] = ended;
    if (auto seq = journal->append(end); !seq && result.message.empty())
        result.message = "journal: " + seq.error().describe();
    // Rollback takes a change stamped after the end for someone else's (a
    // conflict): a script that edits a file the moment this returns must
    // not stamp its edit before the end.
    wait_until_files_are_stamped_after(ended);
    prune_in_background_if_due(dirs, realtime_usec());
    return result;
}

}  // namespace sandboxd
