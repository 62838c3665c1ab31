// connect() to pathname unix sockets.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <csignal>
#include <ctime>
#include <mutex>
#include <optional>

#include "gate/agent_view.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"

namespace sandboxd {
namespace {

// A deadline for one blocking call of this thread: a timer that sends the
// thread a signal whose handler does nothing and does not restart calls,
// so the call returns EINTR. Socket options cannot bound it: SO_SNDTIMEO
// is the agent's to set, also from another thread between the gate's
// setting it and the call.
const int kDeadlineSignal = SIGRTMIN + 5;

class CallDeadline {
public:
    explicit CallDeadline(int ms) {
        static std::once_flag installed;
        std::call_once(installed, [] {
            struct sigaction sa{};
            sa.sa_handler = [](int) {};
            sigemptyset(&sa.sa_mask);
            ::sigaction(kDeadlineSignal, &sa, nullptr);  // no SA_RESTART
        });
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, kDeadlineSignal);
        ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
        sigevent sev{};
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = kDeadlineSignal;
        sev._sigev_un._tid = ::gettid();
        if (::timer_create(CLOCK_MONOTONIC, &sev, &timer_) != 0) return;
        armed_ = true;
        itimerspec when{};
        when.it_value.tv_sec = ms / 1000;
        when.it_value.tv_nsec = long(ms % 1000) * 1000000;
        ::timer_settime(timer_, 0, &when, nullptr);
    }
    ~CallDeadline() {
        if (armed_) ::timer_delete(timer_);
    }
    // Whether the call could be bounded at all.
    bool armed() const { return armed_; }

private:
    timer_t timer_{};
    bool armed_ = false;
};

constexpr int kConnectWaitMs = 5000;

}  // namespace

// connect() to a pathname unix socket: resolved as the agent (symlinks
// followed, hidden sockets are /dev/null in its view), allowed inside the
// read scope (or on the session's own filesystems), and connected by this
// thread, as the agent, through the pinned directory.
GateOutcome do_connect(const GateRequest& r, GateContext& ctx) {
    auto res = resolve_for_agent(r.root, r.dir1.get(), r.path1, true);
    JournalEntry e = entry_for(r, "net.connect", r.path1);
    e.rule = "filesystem.read";
    if (!res) {
        GateOutcome o = failed(res.error().code ? res.error().code : ECONNREFUSED);
        return o;
    }
    int pfd = res->parent();
    e.target = display_path(ctx, pfd, res->name);
    std::optional<std::string> denied;
    if (auto host = host_dir(ctx, pfd)) {
        if (ctx.read_denied) denied = ctx.read_denied(join(host->path, res->name));
    } else if (!on_private_fs(ctx, pfd)) {
        denied = "filesystem.read: not reachable from the host";
    }
    if (denied && !ctx.audit) {
        GateOutcome o = failed(EACCES);
        e.decision = "deny";
        e.err = EACCES;
        e.rule = *denied;
        o.entry = std::move(e);
        return o;
    }
    if (denied) {
        e.decision = "log";
        e.rule = "would be denied: " + *denied;
    }
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/thread-self/fd/%d/%s", pfd, res->name.c_str());
    if (n < 0 || size_t(n) >= sizeof sa.sun_path) return failed(ENAMETOOLONG);
    GateOutcome o;
    // A blocking connect waits while the listener's backlog is full, as
    // long as the agent's SO_SNDTIMEO says: the gate waits at most
    // kConnectWaitMs and answers ETIMEDOUT, as the kernel does when a
    // send timeout runs out.
    int rc, err;
    {
        CallDeadline deadline(kConnectWaitMs);
        if (!deadline.armed()) return failed(EAGAIN);
        rc = ::connect(r.file.get(), reinterpret_cast<sockaddr*>(&sa), socklen_t(sizeof sa));
        err = rc == 0 ? 0 : errno == EINTR ? ETIMEDOUT : errno;
    }
    if (rc != 0) {
        o.err = err;
        e.decision = "deny";
        e.err = o.err;
        e.rule = "kernel";
    }
    o.entry = std::move(e);
    return o;
}

}  // namespace sandboxd
