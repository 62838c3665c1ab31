#include "gate/agent_threads.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace sandboxd {

namespace {

// The thread group a thread belongs to (its "Tgid:" in /proc/TID/status).
pid_t thread_group_of(int procdir) {
    UniqueFd f(::openat(procdir, "status", O_RDONLY | O_CLOEXEC));
    char buf[4096];
    ssize_t n = f ? ::pread(f.get(), buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) return -1;
    buf[n] = '\0';
    const char* at = std::strstr(buf, "\nTgid:\t");
    return at ? pid_t(std::strtol(at + 7, nullptr, 10)) : -1;
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
        pid_t group = thread_group_of(procdir.get());
        if (group > 0) pidfd = UniqueFd(int(::syscall(SYS_pidfd_open, group, 0)));
    }
    return pidfd.get();
}

Result<AgentThreads::Thread*> AgentThreads::get(pid_t tid) {
    if (auto it = threads_.find(tid); it != threads_.end()) return &it->second;
    if (threads_.size() >= kMaxThreads) threads_.clear();
    Thread t;
    t.tid = tid;
    t.procdir = UniqueFd(::open(("/proc/" + std::to_string(tid)).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!t.procdir) return Error{ESRCH, "the calling thread is gone"};
    t.comm = UniqueFd(::openat(t.procdir.get(), "comm", O_RDONLY | O_CLOEXEC));
    return &(threads_[tid] = std::move(t));
}

std::string AgentThreads::comm_of(Thread& t) {
    char buf[64];
    ssize_t n = t.comm ? ::pread(t.comm.get(), buf, sizeof buf, 0) : -1;
    if (n <= 0) return {};
    std::string comm(buf, size_t(n));
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    return comm;
}

mode_t AgentThreads::umask_of(Thread& t) {
    if (!t.status) t.status = UniqueFd(::openat(t.procdir.get(), "status", O_RDONLY | O_CLOEXEC));
    char buf[4096];
    ssize_t n = t.status ? ::pread(t.status.get(), buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) return 022;
    buf[n] = '\0';
    const char* at = std::strstr(buf, "\nUmask:\t");
    return at ? mode_t(std::strtoul(at + 8, nullptr, 8)) : 022;
}

}  // namespace sandboxd
