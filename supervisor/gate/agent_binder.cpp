#include "gate/agent_binder.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "landlock/ruleset.h"

namespace sandboxd {

std::unique_ptr<AgentBinder> AgentBinder::start(const Identity& agent, int landlock_ruleset) {
    std::unique_ptr<AgentBinder> b(new AgentBinder);
    b->agent_ = agent;
    b->ruleset_ = landlock_ruleset;
    b->thread_ = std::thread([p = b.get()] { p->run(); });
    return b;
}

AgentBinder::~AgentBinder() {
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

int AgentBinder::bind(int sock, int root, int cwd, const std::string& addr, mode_t umask) {
    Request r{sock, root, cwd, &addr, umask};
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return request_ == nullptr || quit_; });
    if (quit_) return EAGAIN;
    request_ = &r;
    changed_.notify_all();
    changed_.wait(lock, [&] { return r.done; });
    return r.result;
}

void AgentBinder::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return (request_ && !request_->done) || quit_; });
        if (quit_) return;
        Request& r = *request_;
        int result = EAGAIN;
        // A thread of its own, which inherits this one's credentials and
        // gives them up for good.
        std::thread([&] { result = bind_in_own_thread(r); }).join();
        r.result = result;
        r.done = true;
        request_ = nullptr;
        changed_.notify_all();
    }
}

int AgentBinder::bind_in_own_thread(const Request& r) const {
    // Raw syscalls throughout: glibc's wrappers would change every thread's
    // credentials, and this thread's root and working directory are its
    // own only after unshare(CLONE_FS).
    if (::unshare(CLONE_FS) != 0) return errno;
    if (::fchdir(r.root) != 0 || ::chroot(".") != 0) return errno;
    if (r.cwd >= 0 && ::fchdir(r.cwd) != 0) return errno;
    ::umask(r.umask);
    if (ruleset_ >= 0 && landlock_restrict_self(ruleset_) != 0) return errno;
    if (::syscall(SYS_setgroups, agent_.groups.size(), agent_.groups.data()) != 0) return errno;
    if (::syscall(SYS_setresgid, agent_.gid, agent_.gid, agent_.gid) != 0) return errno;
    if (::syscall(SYS_setresuid, agent_.uid, agent_.uid, agent_.uid) != 0) return errno;
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct none[2] = {};
    if (::syscall(SYS_capset, &hdr, none) != 0) return errno;
    const auto* sa = reinterpret_cast<const sockaddr*>(r.addr->data());
    return ::bind(r.sock, sa, socklen_t(r.addr->size())) == 0 ? 0 : errno;
}

}  // namespace sandboxd
