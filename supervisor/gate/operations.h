// The destructive operations, carried out by the gate's worker on the
// agent's behalf: resolved the way the kernel would resolve them for the
// agent (gate/resolve.h), checked by the kernel against the agent's own
// uid/gids and Landlock domain (the worker thread carries both), and, where
// the object lives on the host's filesystem, preceded by a snapshot of the
// exact object acted on (snapshot/store.h). Nothing is ever handed back to
// the kernel to redo with the agent's original, swappable path.
//
// Every agent thread's destructive call passes through the one worker, so
// while one is handled no other agent call can rename, delete or replace
// anything: the names the worker resolved stay what they were until it is
// done (processes outside the session are another matter; see the notes on
// put_back in destroy_ops.cpp).
#pragma once

#include <unistd.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/unique_fd.h"
#include "gate/request.h"
#include "journal/journal.h"
#include "mounts/plan.h"
#include "snapshot/store.h"

namespace sandboxd {

// A directory the agent named, as the host sees it (see host_dir in
// agent_view.h), with what the agent's view makes of it. The agent's mount
// is part of the key: the same directory can be writable through one
// mount and read-only through another (a protected carve-out).
struct HostDir {
    UniqueFd fd;
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t agent_mnt = 0;      // the mount the agent reached it through
    bool agent_readonly = false;  // that mount is read-only
    uint64_t host_mnt = 0;        // the host's mount of it (the store's, for renames)
    bool overlay = false;         // on overlayfs, where a copy-up gives old files new birth times
    uint64_t checked_in = 0;      // the operation (GateContext::operation) that last saw `path` lead to it
};

struct GateContext {
    // The session's stores: the first in the state directory, then one per
    // other mount its destroy trees are on.
    std::vector<SnapshotStore>* stores = nullptr;
    SnapshotStore& store_on_mount(uint64_t mnt_id);  // else the first
    SnapshotStore& store_on_dev(dev_t dev);          // else the first
    // Filesystems that exist only for the session (its private /tmp and
    // /dev/shm): what is destroyed there needs no snapshot.
    std::vector<dev_t> private_devs;
    // Files whose content was already kept this session (first open for
    // writing): later opens for writing take no second copy. Each with
    // `lines` as its last line made it (see write_ops.cpp, rewrite_line).
    std::map<std::pair<dev_t, ino_t>, uint64_t> kept;
    uint64_t lines = 0;  // the gate's journal lines so far
    std::list<HostDir> host_dirs;  // directories looked up, most recent first (host_dir)
    uint64_t operation = 0;        // counts the operations performed (perform_gated)
    // The last directory the host does not reach (the session's own /tmp):
    // its dev, ino and agent mount, so that a burst of calls in it asks once.
    std::optional<std::tuple<dev_t, ino_t, uint64_t>> host_miss;
    // When a directory is removed: the miss is not held open, so its
    // inode number may come back as another directory's.
    void forget_miss() { host_miss.reset(); }
    // When a directory is renamed: every path under it changes.
    void forget_dirs() {
        host_dirs.clear();
        host_miss.reset();
    }
    std::shared_ptr<SnapshotBudget> budget;
    int64_t session_start_usec = 0;
    uid_t agent_uid = 0;  // the uid the worker runs as
    // Whether an object with this birth time (-1: unknown) was made during
    // the session. The agent starts only once the clock files are stamped
    // with has passed the session's start (run_session.cpp), so this is
    // exact both ways.
    bool born_in_session(int64_t btime_usec) const {
        return session_start_usec > 0 && btime_usec >= session_start_usec;
    }
    // Where every call that makes a name passes the gate (names are
    // guarded: GateConfig::sees_creates), what the gate made for the agent:
    // the object, and the time just after it was made. A file the user
    // saves into the workspace meanwhile is born in the session too, and
    // is the agent's user's when the agent runs as the user: only these
    // are the agent's own. At most kMaxMade (then what is made later is
    // not taken for the agent's: kept, never dropped).
    static constexpr size_t kMaxMade = size_t(1) << 20;
    bool sees_creates = false;
    std::map<std::pair<dev_t, ino_t>, int64_t> made;
    void note_made(const struct stat& st);
    void note_made_at(int dir, const std::string& name);
    // Whether a snapshot may be dropped to make room (SnapshotBudget): the
    // object was born during the session, is the agent's own, and its
    // birth time means something - not on overlayfs, where copying a file
    // up gives an old one a new inode. Where the gate sees every create,
    // it must also be one the gate made (and not an inode number used
    // again since: born no later than that).
    bool droppable(int64_t btime_usec, const struct stat& st, bool overlay) const {
        if (overlay || st.st_uid != agent_uid || !born_in_session(btime_usec)) return false;
        if (!sees_creates) return true;
        auto it = made.find({st.st_dev, st.st_ino});
        return it != made.end() && btime_usec <= it->second;
    }
    std::function<std::optional<std::string>(const std::string&)> read_denied;
    // Whether a host path lies in a destroy tree (GateConfig::destroyable):
    // outside them, files in write trees are only added to.
    std::function<bool(const std::string&)> destroyable;
    // Names of protected paths that do not exist yet: never made by the agent.
    std::vector<GuardedName> guarded;
    // The directories that hold a hidden path, by identity: a watch on one
    // reports what happens to the hidden entry, by name (when the user
    // reads /etc/shadow or their keys), which its cover hides from reads.
    std::set<std::pair<dev_t, ino_t>> hidden_parents;
    // GateConfig::journal_creates.
    bool journal_creates = false;
    int connector = -1;  // GateConfig::connector
    int agent_tty = -1, agent_tty_master = -1;  // GateConfig::agent_tty, agent_tty_master

    // The directories of the session's first guards with names on the way
    // (rest not empty), held open: a directory on the way made by anyone
    // (another session on the workspace, the user's own `git init`) is
    // found by following the names from here (gate/guards.h).
    struct GuardRoot {
        UniqueFd dir;
        const GuardedName* guard = nullptr;  // in `roots_of`
        std::vector<std::string> chain;      // its name, then those of its rest
    };
    std::vector<GuardedName> roots_of;
    std::vector<GuardRoot> guard_roots;
    bool audit = false;
    int listener = -1;  // to see whether the agent's call is still pending
    // The session cgroup's cgroup.freeze (-1: none). A call that would keep
    // the gate waiting (an open that waits, a long copy) is given up while
    // it says 1: a thread inside the gate cannot freeze, and the kill
    // switch would wait for it.
    int freeze_state = -1;
    bool freezing() const;
    uint64_t call = 0;          // the notification id of the call being performed (perform_gated)
    bool call_pending() const;  // whether the agent still waits for its answer
    // Whether to give a long wait or copy up now, with nothing done: the
    // session is being frozen (then kRestartCall), or nobody waits for the
    // answer any more (killed: what it asked for must not land after).
    bool give_up() const { return !call_pending() || freezing(); }
    // Binds a unix socket with the agent's own address, from its root
    // (gate/agent_binder.h); null: binds go by the last name.
    class AgentBinder* binder = nullptr;
};

struct GateOutcome {
    long value = 0;   // the syscall's result when err == 0
    int err = 0;      // errno for the agent, 0 on success
    UniqueFd install; // a descriptor to hand the agent (opens)
    bool cloexec = false;
    std::optional<JournalEntry> entry;  // what to journal (right after answering)
    bool own_line = false;  // `entry` is the call's own line (not only a note of dropped snapshots)
};

// Runs on the worker thread.
GateOutcome perform_gated(const GateRequest& r, GateContext& ctx);

// The worker's umask (its own: it unshared CLONE_FS) when it starts.
constexpr mode_t kWorkerUmask = 077;
// Sets the worker's umask to the agent's, for a call that makes something
// for the agent. It stays so afterwards, saving two calls in the next
// create of the same agent: what the worker makes for itself (the snapshot
// store's files and directories) names its mode in full (0600, 0700),
// which no umask can widen.
void use_agent_umask(mode_t agent);

// An operation acts on what it looked at, never on a name looked up again
// (the worker is outside the agent's root and /proc): where the name
// changes between its look and its act (a symlink put there, a file moved
// in), it looks again at most this often, then the agent gets EAGAIN. Only
// a race, the agent's own or another session's, changes a name that often.
constexpr int kNameChangeAttempts = 4;

// The kernel's ERESTARTNOINTR, which user space never sees: the answer to a
// call the gate gave up, with nothing done, because its session is being
// frozen (GateContext::freezing). Writing cgroup.freeze has flagged every
// thread of the session to stop before it returns to user space; this one
// stops there too and, once thawed, makes its call again from the start -
// what the kernel does with a call whose notification was not received yet.
constexpr int kRestartCall = 513;

}  // namespace sandboxd
