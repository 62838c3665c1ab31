// The snapshot gate: the supervisor's end of the agent's seccomp
// user-notification listener. Every destructive syscall of the agent
// (unlink*, rmdir, rename*, truncate, ftruncate, open/openat/creat with
// O_TRUNC, chmod/chown/xattrs; connect to unix paths) stops in the kernel and comes here;
// the gate snapshots the object and performs the operation itself, then
// answers with the result (or installs the opened file in the agent with
// SECCOMP_IOCTL_NOTIF_ADDFD). It never answers "continue": the kernel would
// then look the path up again, after a racing thread could have swapped it.
//
// Two threads, because one cannot be both:
//   dispatcher  root, unconfined: receives notifications, fetches the
//               agent's descriptors and paths (needs ptrace rights over
//               it);
//   worker      the agent: its uid/gids (per-thread credentials) and its
//               Landlock domain plus the snapshot store, in its own umask;
//               resolves and performs, so the kernel checks every operation
//               against exactly what the agent may do, queues the journal
//               line and answers.
// A third thread writes the journal (journal/writer.h), off the path the
// agent waits on.
// They hand each request over in turn: one request at a time, so the agent
// can never race one destructive call against another.
//
// If the supervisor dies, the listener closes and every gated call fails
// with ENOSYS: the sandbox fails closed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/agent_state_counts.h"
#include "base/gate_line_marks.h"
#include "base/result.h"
#include "base/syscall_refusal.h"
#include "base/unique_fd.h"
#include "journal/journal.h"
#include "launch/identity.h"
#include "mounts/plan.h"
#include "snapshot/store.h"

namespace sandboxd {

struct GateConfig {
    UniqueFd listener;            // the agent's seccomp notification fd
    // The session's init, which makes the gate's unix connects
    // (launch/session_connect.h); none: the worker makes them itself.
    UniqueFd connector;
    // The pty sandbox-run made the agent's controlling terminal (O_PATH)
    // and its master; none where the agent has no terminal. An open of
    // /dev/tty is this one, where the agent's session holds it
    // (gate/agent_tty.h).
    UniqueFd agent_tty, agent_tty_master;
    Identity identity;            // the agent's
    int landlock_ruleset = -1;    // the agent's ruleset (-1: audit mode)
    uint64_t store_access = 0;    // Landlock rights the worker gets on the store
    std::vector<SnapshotStore> stores;  // see GateContext::stores
    std::shared_ptr<SnapshotBudget> budget;
    // When the session started (realtime, microseconds): objects born after
    // it are the session's own, whose snapshots may give way to others.
    int64_t session_start_usec = 0;
    Journal* journal = nullptr;   // the session's, shared with the event loop
    pid_t agent_pid = 0;          // to find the session's private filesystems
    // The agent can make or join no namespace (its seccomp filter refuses
    // clone/unshare with namespace flags, clone3 and setns), so it can never
    // change its root: the gate opens each agent thread's root once instead
    // of for every call.
    bool root_fixed = false;
    // The session's counts of chdir, fchdir and umask calls
    // (SessionPrograms::agent_state()); null: none are kept.
    AgentStateCounts agent_state;
    // Where the calls the gate journals are marked for the event stream to
    // leave out (SessionPrograms::gate_lines()); empty: not marked.
    GateLineMarks gate_lines;
    // Audit mode: syscalls the profile denies also come here; each is
    // journaled as a would-be denial and let through (seccomp "continue":
    // nothing is decided on it, so a racing thread changes nothing).
    bool audit = false;
    // Called on each journal entry before it is written (audit mode marks
    // would-be denials with it).
    std::function<void(JournalEntry&)> annotate;
    // Which rule keeps `path` (a host path) out of the read scope, if any:
    // pathname unix sockets are connected only inside it.
    std::function<std::optional<std::string>(const std::string&)> read_denied;
    // See GateContext::guarded.
    std::vector<GuardedName> guarded;
    // Whether `path` (a host path) lies in a destroy tree; null: everywhere.
    std::function<bool(const std::string&)> destroyable;
    // See GateContext::hidden_parents.
    std::set<std::pair<dev_t, ino_t>> hidden_parents;
    // See Plan::journal_creates: each name made on a filesystem without
    // birth times gets a journal line with its undo record.
    bool journal_creates = false;
    // Every call that makes a name comes to the gate (the seccomp filter's
    // create gate): what the agent made is then known exactly (see
    // GateContext::made).
    bool sees_creates = false;
    // The session cgroup's cgroup.freeze, open for reading (see
    // GateContext::freeze_state); none: waits are not given up.
    UniqueFd freeze_state;
    // Calls the filter refuses and sends here to be journaled (see
    // gate/refused_calls.h); answered first, before anything else is
    // looked at.
    SyscallRefusals refusals;
    // Audit mode: the syscalls the profile denies, by number. Those the
    // gate carries out are journaled as would-be denials too, then done.
    std::set<int> audited;
};

class Gate {
public:
    // Starts both threads; the worker has entered the agent's identity and
    // Landlock domain when this returns.
    static Result<std::unique_ptr<Gate>> start(GateConfig cfg);
    ~Gate();  // stops and joins

    uint64_t handled() const;
    uint64_t snapshot_bytes() const;
    // Returns once every line of what the gate has done is written and
    // synced (the session was frozen: a rollback may follow).
    void flush_journal();
    // Why a line of the gate's could not be written (a full disk), if one
    // could not.
    std::optional<Error> journal_failure() const;

    struct Impl;

private:
    explicit Gate(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sandboxd
