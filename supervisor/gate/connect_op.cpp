// connect() to pathname unix sockets.
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <optional>

#include "gate/agent_view.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"

namespace sandboxd {

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
    // A blocking connect waits while the listener's backlog is full: bound
    // it (unix sockets time connect() out by SO_SNDTIMEO) so the gate is
    // never stuck, and put the agent's own setting back afterwards.
    timeval old{}, bounded{5, 0};
    socklen_t len = sizeof old;
    bool timed = ::getsockopt(r.file.get(), SOL_SOCKET, SO_SNDTIMEO, &old, &len) == 0 &&
                 (old.tv_sec == 0 && old.tv_usec == 0) &&
                 ::setsockopt(r.file.get(), SOL_SOCKET, SO_SNDTIMEO, &bounded, sizeof bounded) == 0;
    int rc = ::connect(r.file.get(), reinterpret_cast<sockaddr*>(&sa), socklen_t(sizeof sa));
    int err = errno;
    if (timed) ::setsockopt(r.file.get(), SOL_SOCKET, SO_SNDTIMEO, &old, sizeof old);
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
