// Session cgroups nobody will remove: their supervisor was killed (SIGKILL,
// a crash) before its clean-up, and the state entry that named them may be
// gone too (another state directory, removed since). Each one keeps the
// session's BPF programs loaded in the kernel. Every session cgroup is
// marked with its supervisor (pid, start time and pid namespace, in a
// trusted.* extended attribute only root can set), so any later run can
// tell which are abandoned, whichever state directory it uses.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "cgroup/layout.h"

namespace sandboxd {

// Marks a session cgroup directory as this process's.
Status mark_cgroup_owner(const std::string& dir);

struct AbandonedSweep {
    std::vector<std::string> removed;
    std::vector<std::string> problems;  // directories that could not be removed, and why
};

// Removes the empty session cgroups (v2 and the v1 controllers') whose
// supervisor is gone. A cgroup that still has processes is left alone: its
// session is orphaned, for `sandboxctl kill`. One without a mark (made by
// an older sandboxd, or marked a moment ago), or marked from another pid
// namespace, is removed only once it is older than `unmarked_age_sec`. A dry run removes nothing and lists what
// it would remove.
AbandonedSweep sweep_abandoned_cgroups(const CgroupHost& host, bool dry_run = false, int unmarked_age_sec = 60);

}  // namespace sandboxd
