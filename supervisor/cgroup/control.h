// Operations on an existing session cgroup by path: the kill switch.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace sandboxd {

// Writes cgroup.freeze and returns once cgroup.events reports the new state
// (the kernel freezes asynchronously). Returns the time that took, in ns.
// The caller should hold a RealtimeBoost so a busy agent cannot starve it.
Result<int64_t> cgroup_set_frozen(const std::string& cgroup, bool frozen, int timeout_ms);

// Writes cgroup.kill and returns once cgroup.events reports "populated 0".
Status cgroup_kill(const std::string& cgroup, int timeout_ms);
// Writes cgroup.kill only: every process of the cgroup has SIGKILL when
// this returns (cgroup_wait_empty() then waits for the kernel's teardown).
Status cgroup_send_kill(const std::string& cgroup);

// Waits until cgroup.events reports "populated 0" without killing.
Status cgroup_wait_empty(const std::string& cgroup, int timeout_ms);

// Processes in the cgroup and its descendants.
Result<int> cgroup_process_count(const std::string& cgroup);

// The cgroup's "frozen" flag from cgroup.events.
Result<bool> cgroup_is_frozen(const std::string& cgroup);

// Total CPU time consumed (cpu.stat usage_usec).
Result<uint64_t> cgroup_cpu_usage_usec(const std::string& cgroup);

// Raises the calling thread to SCHED_FIFO for its lifetime, so that the
// kill switch runs ahead of the agent it is stopping even when the agent
// keeps every CPU busy. Silently stays at normal priority when not allowed.
class RealtimeBoost {
public:
    RealtimeBoost();
    ~RealtimeBoost();
    RealtimeBoost(const RealtimeBoost&) = delete;
    RealtimeBoost& operator=(const RealtimeBoost&) = delete;
    bool active() const { return active_; }

private:
    bool active_ = false;
    int old_policy_ = 0;
    int old_priority_ = 0;
};

}  // namespace sandboxd
