#include "cgroup/abandoned.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

#include "base/file_io.h"
#include "base/process_start.h"

namespace sandboxd {
namespace {

constexpr const char* kOwnerXattr = "trusted.sandboxd.supervisor";

enum class Owner { Alive, Gone, Unknown };

// This process's pid namespace: a pid means something only in its own.
uint64_t own_pid_namespace() {
    struct stat st{};
    return ::stat("/proc/self/ns/pid", &st) == 0 ? uint64_t(st.st_ino) : 0;
}

// "PID START PIDNS". A supervisor in another pid namespace (a container,
// `unshare -p`) cannot be looked up here: its pid names another process,
// and every session it ran was taken for abandoned and had its cgroup
// removed while it was being set up (a red-team finding). Such a mark is
// Unknown, as none: only the age rule applies.
Owner owner_of(const std::string& dir, uint64_t pidns) {
    char value[96] = {};
    ssize_t n = ::getxattr(dir.c_str(), kOwnerXattr, value, sizeof value - 1);
    if (n <= 0) return Owner::Unknown;
    int pid = 0;
    uint64_t start = 0, ns = 0;
    if (std::sscanf(value, "%d %" SCNu64 " %" SCNu64, &pid, &start, &ns) != 3 || pid <= 0 || start == 0)
        return Owner::Unknown;
    if (ns != pidns || pidns == 0) return Owner::Unknown;
    return process_start_time(pid_t(pid)) == start ? Owner::Alive : Owner::Gone;
}

bool older_than(const std::string& dir, int seconds) {
    struct stat st{};
    if (::stat(dir.c_str(), &st) != 0) return false;
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec - st.st_mtim.tv_sec > seconds;
}

bool has_processes(const std::string& dir) {
    auto procs = read_file(dir + "/cgroup.procs");
    return !procs || !procs->empty();
}

void sweep_base(const std::string& base, bool dry_run, int unmarked_age_sec, uint64_t pidns, AbandonedSweep& out) {
    DIR* d = ::opendir(base.c_str());
    if (!d) return;  // no session was ever made under this controller
    std::vector<std::string> dirs;
    while (dirent* e = ::readdir(d))
        if (e->d_type == DT_DIR && e->d_name[0] != '.') dirs.push_back(base + "/" + e->d_name);
    ::closedir(d);
    for (const auto& dir : dirs) {
        Owner owner = owner_of(dir, pidns);
        if (owner == Owner::Alive) continue;
        if (owner == Owner::Unknown && !older_than(dir, unmarked_age_sec)) continue;
        if (dry_run) {
            if (!has_processes(dir)) out.removed.push_back(dir);
            continue;
        }
        // The kernel refuses (EBUSY) while processes are inside: checked
        // and removed in one step, so a process joining meanwhile is safe.
        if (::rmdir(dir.c_str()) == 0) {
            out.removed.push_back(dir);
        } else if (errno != EBUSY && errno != ENOTEMPTY && errno != ENOENT) {
            out.problems.push_back(errno_error("cannot remove abandoned cgroup " + dir).describe());
        }
    }
}

}  // namespace

Status mark_cgroup_owner(const std::string& dir) {
    pid_t self = ::getpid();
    std::string value = std::to_string(self) + " " + std::to_string(process_start_time(self)) + " " +
                        std::to_string(own_pid_namespace());
    if (::setxattr(dir.c_str(), kOwnerXattr, value.data(), value.size(), 0) != 0)
        return errno_error("cannot mark cgroup " + dir + " as this session's");
    return {};
}

AbandonedSweep sweep_abandoned_cgroups(const CgroupHost& host, bool dry_run, int unmarked_age_sec) {
    AbandonedSweep out;
    uint64_t pidns = own_pid_namespace();
    sweep_base(host.v2_base(), dry_run, unmarked_age_sec, pidns, out);
    for (const auto& [controller, mount] : host.v1_mounts)
        sweep_base(mount + "/sandboxd", dry_run, unmarked_age_sec, pidns, out);
    return out;
}

}  // namespace sandboxd
