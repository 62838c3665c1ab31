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

#include "base/paths.h"
#include "gate/agent_view.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"
#include "launch/session_connect.h"

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
// The wait is made in slices of this length, between which the gate looks
// whether to give it up (GateContext::give_up). An interrupted unix connect
// has queued nothing: it is as if it was never made.
constexpr int kConnectSliceMs = kSessionConnectSliceMs;

}  // namespace

// connect() to a pathname unix socket: resolved as the agent (symlinks
// followed, hidden sockets are /dev/null in its view), allowed inside the
// read scope (or on the session's own filesystems), and connected, as the
// agent, to the socket it looked at: the socket file is opened (O_PATH,
// following no symlink) and connected to through that descriptor, by the
// session's init (launch/session_connect.h: the listening end's peer is
// then a process of the session), or by this thread where there is none.
// Connecting by its name would look the name up again, and a symbolic
// link put there in between would be followed from this thread's view of
// the world (the host's root, sandbox-run's descriptors through
// /proc/self): to a socket the agent may not see, such as the docker one.
GateOutcome do_connect(const GateRequest& r, GateContext& ctx) {
    JournalEntry e = entry_for(r, "net.connect", r.path1);
    e.rule = "filesystem.read";
    UniqueFd node;
    for (int attempt = 1;; ++attempt) {
        auto res = resolve_for_agent(r.root, r.dir1.get(), r.path1, true);
        if (!res) return failed(res.error().code ? res.error().code : ECONNREFUSED);
        int pfd = res->parent();
        e.target = display_path(ctx, pfd, res->name);
        std::optional<std::string> denied;
        if (auto host = host_dir(ctx, pfd)) {
            if (ctx.read_denied) denied = ctx.read_denied(join_path(host->path, res->name));
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
        node = UniqueFd(::openat(pfd, res->name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!node) return failed(errno);
        struct stat st{};
        if (::fstat(node.get(), &st) != 0) return failed(errno);
        if (S_ISSOCK(st.st_mode)) break;
        // A symbolic link where the resolution followed none: put there
        // since; looked at again. Anything else is no socket to connect to.
        if (!S_ISLNK(st.st_mode)) return failed(ECONNREFUSED);
        if (attempt == kNameChangeAttempts) return failed(EAGAIN);
    }
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/thread-self/fd/%d", node.get());
    GateOutcome o;
    // A blocking connect waits while the listener's backlog is full, as
    // long as the agent's SO_SNDTIMEO says: the gate waits at most
    // kConnectWaitMs and answers ETIMEDOUT, as the kernel does when a
    // send timeout runs out. While the session is being frozen the wait is
    // given up, and the call made again after the thaw: a thread in the
    // gate cannot freeze, and the kill switch would wait for it.
    int rc = -1, err = 0;
    for (int waited = 0;; waited += kConnectSliceMs) {
        if (ctx.connector >= 0) {
            // Made by the session's init: the listening end sees a process
            // of the session as its peer, not sandbox-run.
            err = connect_in_session(ctx.connector, r.file.get(), node.get());
            rc = err == 0 ? 0 : -1;
        } else {
            CallDeadline deadline(kConnectSliceMs);
            if (!deadline.armed()) return failed(EAGAIN);
            rc = ::connect(r.file.get(), reinterpret_cast<sockaddr*>(&sa), socklen_t(sizeof sa));
            err = rc == 0 ? 0 : errno;
        }
        if (rc == 0 || err != EINTR) break;
        if (!ctx.call_pending()) return failed(ECONNABORTED);  // nobody waits for the answer
        if (ctx.freezing()) return failed(kRestartCall);
        if (waited + kConnectSliceMs >= kConnectWaitMs) {
            err = ETIMEDOUT;
            break;
        }
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
