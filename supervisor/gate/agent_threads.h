// Handles on the agent threads that called the gate, kept between requests:
// an rm -rf asks thousands of times from one thread, and opening /proc/TID,
// a pidfd and /proc/TID/comm afresh each time cost more than the operation.
//
// Every handle names the thread itself, not its number: once the thread is
// gone they all fail (ESRCH/ENOENT), so a thread that later gets the same
// number never inherits them. A failing handle is dropped and opened anew
// once, and fetch_request's NOTIF_ID_VALID check still decides whether what
// was fetched belongs to the caller.
//
// A thread's working directory and umask are kept too, while the session's
// counts of chdir, fchdir and umask calls say none has happened since (BPF
// programs keep them; bpf/progs/agent_state.bpf.h says how they are read).
// Opening /proc/TID/cwd and reading /proc/TID/status cost 3 and 7 us of
// each gated call.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>
#include <unordered_map>

#include "base/agent_state_counts.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

class AgentThreads {
public:
    struct Thread {
        UniqueFd procdir;  // /proc/TID, O_PATH
        UniqueFd pidfd;    // opened when first needed
        UniqueFd comm;     // /proc/TID/comm, read with pread
        UniqueFd status;   // /proc/TID/status (umask, thread group), opened when first needed
        UniqueFd stat;     // /proc/TID/stat (session, controlling terminal), opened when first needed
        UniqueFd root;     // its root directory (see get())
        std::string name;  // its command name, as get() last read it
        int pidfd_for();   // the pidfd, opening it if need be; -1 if gone
        pid_t tid = 0;
        // Kept while the count of changes begun is what it was when they
        // were read (see working_dir() and umask()).
        UniqueFd cwd;
        uint64_t cwd_count = 0;
        // Kept directories replaced since get(): still open, one of them
        // may be lent to the request being fetched.
        std::vector<UniqueFd> cwd_replaced;
        mode_t umask = 0;
        bool umask_known = false;
        uint64_t umask_count = 0;
    };

    // `root_fixed`: the agent cannot change its root directory (it can
    // make no user namespace, so it never holds CAP_SYS_CHROOT): a thread's
    // root is opened once. Otherwise it is opened again for every call.
    // `changes`: the session's counts of chdir, fchdir and umask calls;
    // without them nothing is kept.
    explicit AgentThreads(bool root_fixed = false, AgentStateCounts changes = {})
        : root_fixed_(root_fixed), changes_(changes) {}

    // The handles for `tid`, with its command name read afresh and its
    // root open: that read is what proves held handles still name a live
    // thread (a dead one's say ESRCH). Held ones that fail are dropped and
    // opened anew once (ESRCH: no such thread).
    Result<Thread*> get(pid_t tid);

    // The thread's /proc/TID/status, opened when first needed (-1: gone).
    static int status_fd(Thread& t);
    // Its /proc/TID/stat, the same way.
    static int stat_fd(Thread& t);
    // Its working directory (an error once the thread is gone), and its
    // umask, from status_fd() opened beforehand (077 if it cannot be
    // read). The working directory is kept only where the root is fixed
    // too: an agent that may make a mount namespace takes its working
    // directory into the new one. A kept one is lent, open until the next
    // get() of the thread (a dup and a close fewer a call).
    Result<HeldFd> working_dir(Thread& t);
    mode_t umask(Thread& t);

    // The thread group of `t`, which is what /proc/self names to it: its
    // working directory, root and descriptors are the leader's, also for a
    // thread with a working directory of its own (unshare(CLONE_FS)). A
    // pidfd of the group, and for another thread than the leader the
    // leader's /proc/PID (`self`: `t` is the leader, use its own handles).
    // ENOENT once the leader has exited, as from the kernel.
    struct Group {
        UniqueFd pidfd;
        UniqueFd procdir;
        bool self = false;
    };
    static Result<Group> group_of(Thread& t);

private:
    Result<Thread*> open_handles(pid_t tid);
    // Enough for an agent's busy threads; beyond it the table starts over
    // rather than keep handles on threads long gone.
    static constexpr size_t kMaxThreads = 256;
    bool refresh(Thread& t);
    std::optional<uint64_t> quiet_count() const;
    bool unchanged_since(uint64_t count) const;
    bool root_fixed_ = false;
    AgentStateCounts changes_;
    std::unordered_map<pid_t, Thread> threads_;
};

}  // namespace sandboxd
