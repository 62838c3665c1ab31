#include "cgroup/session_cgroup.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file_io.h"
#include "cgroup/abandoned.h"
#include "cgroup/control.h"

namespace sandboxd {
namespace {

constexpr int kKillTimeoutMs = 10000;
constexpr uint64_t kCpuPeriodUsec = 100000;

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// rmdir of a cgroup can briefly fail with EBUSY while killed tasks finish
// exiting (v1 controllers notice later than v2).
Status remove_cgroup_dir(const std::string& path) {
    for (int i = 0; i < 200; ++i) {
        if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return {};
        if (errno != EBUSY) break;
        ::usleep(5000);
    }
    return errno_error("cannot remove cgroup " + path);
}

}  // namespace

Result<SessionCgroup> SessionCgroup::create(const CgroupHost& host, const std::string& id,
                                            const Limits& limits) {
    SessionCgroup cg;
    std::string base = host.v2_base();
    SANDBOXD_TRY(make_dirs(base, 0755));
    if (host.layout == CgroupLayout::Unified) {
        // Delegate what the root already delegates; we never change the
        // root's own subtree_control, which belongs to the init system.
        for (const char* c : {"pids", "memory", "cpu"}) {
            if (!host.v2_controllers.count(c)) continue;
            (void)write_file(base + "/cgroup.subtree_control", std::string("+") + c);
        }
    }
    cg.v2_path_ = base + "/" + id;
    if (::mkdir(cg.v2_path_.c_str(), 0755) != 0) return errno_error("cannot create cgroup " + cg.v2_path_);
    cg.destroyed_ = false;  // from here on the destructor cleans up
    // Best effort: an unmarked cgroup is only swept later, once it is old.
    (void)mark_cgroup_owner(cg.v2_path_);
    cg.v1_host_ = host.layout == CgroupLayout::Hybrid;
    auto dir = open_fd(cg.v2_path_, O_RDONLY | O_DIRECTORY);
    if (!dir) return dir.error();
    cg.v2_dir_ = std::move(*dir);

    for (const auto& [controller, mount] : host.v1_mounts) {
        bool needed = (controller == "pids" && limits.pids) || (controller == "memory" && limits.memory_bytes) ||
                      (controller == "cpu" && limits.cpu_millicores);
        if (!needed) continue;
        std::string v1base = mount + "/sandboxd";
        SANDBOXD_TRY(make_dirs(v1base, 0755));
        V1Dir d{controller, v1base + "/" + id, {}};
        if (::mkdir(d.path.c_str(), 0755) != 0) return errno_error("cannot create cgroup " + d.path);
        (void)mark_cgroup_owner(d.path);
        cg.v1_.push_back(std::move(d));
        // "tasks", not "cgroup.procs": the child writes "0" (itself, a single
        // thread), which the kernel migrates without taking the global
        // threadgroup lock, and so without waiting for an RCU grace period
        // (about 15 ms here). The child is single-threaded until exec, so
        // moving its one thread moves the whole process.
        auto procs = open_fd(cg.v1_.back().path + "/tasks", O_WRONLY);
        if (!procs) return procs.error();
        cg.v1_.back().procs = std::move(*procs);
    }
    return cg;
}

SessionCgroup::~SessionCgroup() {
    if (destroyed_) return;
    if (auto st = destroy(); !st) spdlog::warn("{}", st.error().describe());
}

std::vector<std::string> SessionCgroup::v1_paths() const {
    std::vector<std::string> out;
    for (const auto& d : v1_) out.push_back(d.path);
    return out;
}

std::vector<int> SessionCgroup::v1_join_fds() const {
    std::vector<int> out;
    for (const auto& d : v1_) out.push_back(d.procs.get());
    return out;
}

Status SessionCgroup::apply_limits(const Limits& limits, std::vector<std::string>& unapplied) {
    // Where a controller's files are for this session, or "" when absent.
    auto dir_for = [&](const char* controller, const char* v2file) -> std::string {
        for (const auto& d : v1_)
            if (d.controller == controller) return d.path;
        if (!v1_host_ && exists(v2_path_ + "/" + v2file)) return v2_path_;
        return {};
    };
    auto missing = [&](const char* what, const char* controller) {
        unapplied.push_back(std::string(what) + " limit not applied: the " + controller +
                            " controller is not available to sandboxd on this host (enable it in the "
                            "cgroup v2 root's cgroup.subtree_control, or mount the v1 " +
                            controller + " controller)");
    };
    const bool v1 = v1_host_;

    if (limits.pids) {
        std::string dir = dir_for("pids", "pids.max");
        if (dir.empty()) missing("pids", "pids");
        else SANDBOXD_TRY(write_file(dir + "/pids.max", std::to_string(*limits.pids)));
    }
    if (limits.memory_bytes) {
        std::string dir = dir_for("memory", "memory.max");
        if (dir.empty()) {
            missing("memory", "memory");
        } else if (v1 && dir != v2_path_) {
            SANDBOXD_TRY(write_file(dir + "/memory.limit_in_bytes", std::to_string(*limits.memory_bytes)));
        } else {
            SANDBOXD_TRY(write_file(dir + "/memory.max", std::to_string(*limits.memory_bytes)));
            // Without this the limit only bounds RAM and the agent spills into swap.
            if (exists(dir + "/memory.swap.max")) (void)write_file(dir + "/memory.swap.max", "0");
        }
    }
    if (limits.cpu_millicores) {
        uint64_t quota = uint64_t(*limits.cpu_millicores) * kCpuPeriodUsec / 1000;
        std::string dir = dir_for("cpu", "cpu.max");
        if (dir.empty()) {
            missing("cpu", "cpu");
        } else if (v1 && dir != v2_path_) {
            SANDBOXD_TRY(write_file(dir + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUsec)));
            SANDBOXD_TRY(write_file(dir + "/cpu.cfs_quota_us", std::to_string(quota)));
        } else {
            SANDBOXD_TRY(write_file(dir + "/cpu.max",
                                    std::to_string(quota) + " " + std::to_string(kCpuPeriodUsec)));
        }
    }
    return {};
}

Status SessionCgroup::destroy() {
    if (destroyed_) return {};
    Status first;
    auto keep = [&](Status st) {
        if (!st && first) first = std::move(st);
    };
    if (exists(v2_path_)) keep(cgroup_kill(v2_path_, kKillTimeoutMs));
    v2_dir_.reset();
    keep(remove_cgroup_dir(v2_path_));
    for (auto& d : v1_) {
        d.procs.reset();
        keep(remove_cgroup_dir(d.path));
    }
    destroyed_ = first.ok();
    return first;
}

}  // namespace sandboxd
