#include "gate/agent_threads.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace sandboxd {

namespace {

// One numeric field of /proc/TID/status ("Umask:", "Tgid:"), read again
// from a held descriptor; nullopt if it cannot be read.
std::optional<long> status_field(int fd, const char* key, int base) {
    char buf[4096];
    ssize_t n = fd >= 0 ? ::pread(fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) return std::nullopt;
    buf[n] = '\0';
    std::string needle = std::string("\n") + key + "\t";
    const char* at = std::strstr(buf, needle.c_str());
    if (!at) return std::nullopt;
    return std::strtol(at + needle.size(), nullptr, base);
}

}  // namespace

int AgentThreads::Thread::pidfd_for() {
    if (pidfd) return pidfd.get();
    pidfd = UniqueFd(int(::syscall(SYS_pidfd_open, tid, PIDFD_THREAD)));
    // Before Linux 6.9 a pidfd names a thread group, through its leader.
    // The descriptors pidfd_getfd() then reads are the group's table, which
    // is the calling thread's own unless it was cloned without CLONE_FILES
    // (then the agent only confuses itself: what is done is still done as
    // the agent, on what its own descriptors name).
    if (!pidfd && errno == EINVAL) {
        pid_t group = pid_t(status_field(status_fd(*this), "Tgid:", 10).value_or(-1));
        if (group > 0) pidfd = UniqueFd(int(::syscall(SYS_pidfd_open, group, 0)));
    }
    return pidfd.get();
}

bool AgentThreads::refresh(Thread& t) {
    char buf[64];
    ssize_t n = t.comm ? ::pread(t.comm.get(), buf, sizeof buf, 0) : -1;
    if (n <= 0) return false;
    t.name.assign(buf, size_t(n));
    while (!t.name.empty() && t.name.back() == '\n') t.name.pop_back();
    if (!root_fixed_ || !t.root) t.root = UniqueFd(::openat(t.procdir.get(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
    return bool(t.root);
}

Result<AgentThreads::Thread*> AgentThreads::get(pid_t tid) {
    if (auto it = threads_.find(tid); it != threads_.end()) {
        it->second.cwd_replaced.clear();  // the request they were lent to is done
        if (refresh(it->second)) return &it->second;
        threads_.erase(it);  // held from a thread that is gone; this number is someone new
    }
    auto t = open_handles(tid);
    if (!t) return t.error();
    if (!refresh(**t)) return Error{ESRCH, "the calling thread is gone"};
    return t;
}

Result<AgentThreads::Thread*> AgentThreads::open_handles(pid_t tid) {
    if (threads_.size() >= kMaxThreads) threads_.clear();
    Thread t;
    t.tid = tid;
    t.procdir = UniqueFd(::open(("/proc/" + std::to_string(tid)).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!t.procdir) return Error{ESRCH, "the calling thread is gone"};
    t.comm = UniqueFd(::openat(t.procdir.get(), "comm", O_RDONLY | O_CLOEXEC));
    return &(threads_[tid] = std::move(t));
}

int AgentThreads::status_fd(Thread& t) {
    if (!t.status) t.status = UniqueFd(::openat(t.procdir.get(), "status", O_RDONLY | O_CLOEXEC));
    return t.status.get();
}

int AgentThreads::stat_fd(Thread& t) {
    if (!t.stat) t.stat = UniqueFd(::openat(t.procdir.get(), "stat", O_RDONLY | O_CLOEXEC));
    return t.stat.get();
}

Result<AgentThreads::Group> AgentThreads::group_of(Thread& t) {
    Group g;
    // Without PIDFD_THREAD only a thread group's leader has a pidfd (for
    // another thread: EINVAL before Linux 6.9, ENOENT since).
    g.pidfd = UniqueFd(int(::syscall(SYS_pidfd_open, t.tid, 0)));
    if (g.pidfd) {
        g.self = true;
        return g;
    }
    if (errno != EINVAL && errno != ENOENT) return Error{ESRCH, "the calling thread is gone"};
    auto leader = status_field(status_fd(t), "Tgid:", 10);
    if (!leader || *leader <= 0) return Error{ESRCH, "the calling thread is gone"};
    g.pidfd = UniqueFd(int(::syscall(SYS_pidfd_open, pid_t(*leader), 0)));
    g.procdir = UniqueFd(::open(("/proc/" + std::to_string(*leader)).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!g.pidfd || !g.procdir) return Error{ENOENT, "the thread group's leader is gone"};
    return g;
}

// A value read after this and before unchanged_since(count) holds may be
// kept under `count`: no change was under way when it was taken (as many
// calls ended as had begun, read in that order, so none was under way at
// the second read) and none began by the time the value was read. Nothing
// is kept while one is under way: it may already show to a thread sharing
// the working directory.
std::optional<uint64_t> AgentThreads::quiet_count() const {
    if (!changes_) return std::nullopt;
    uint64_t ended = __atomic_load_n(changes_.exited, __ATOMIC_ACQUIRE);
    uint64_t begun = __atomic_load_n(changes_.entered, __ATOMIC_ACQUIRE);
    if (ended != begun) return std::nullopt;
    return begun;
}

bool AgentThreads::unchanged_since(uint64_t count) const {
    return changes_ && __atomic_load_n(changes_.entered, __ATOMIC_ACQUIRE) == count;
}

Result<HeldFd> AgentThreads::working_dir(Thread& t) {
    if (!(root_fixed_ && t.cwd && unchanged_since(t.cwd_count))) {
        if (t.cwd) t.cwd_replaced.push_back(std::move(t.cwd));
        auto count = root_fixed_ ? quiet_count() : std::nullopt;
        UniqueFd cwd(::openat(t.procdir.get(), "cwd", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!cwd) return Error{ESRCH, "cannot open the agent's working directory"};
        if (!count || !unchanged_since(*count)) return HeldFd(std::move(cwd));  // this call's only
        t.cwd = std::move(cwd);
        t.cwd_count = *count;
    }
    return HeldFd::lent(t.cwd.get());
}

mode_t AgentThreads::umask(Thread& t) {
    if (t.umask_known && unchanged_since(t.umask_count)) return t.umask;
    t.umask_known = false;
    auto count = quiet_count();
    std::optional<long> value = status_field(t.status.get(), "Umask:", 8);
    if (!value) return 077;  // unreadable (the thread is going): nothing made is wider than the agent may want
    if (count && unchanged_since(*count)) {
        t.umask = mode_t(*value);
        t.umask_known = true;
        t.umask_count = *count;
    }
    return mode_t(*value);
}

}  // namespace sandboxd
