// bind(), where names are guarded: a unix socket bound to a path makes a
// name like mknod does, and the guarded ones must stay free.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "gate/agent_binder.h"
#include "gate/agent_view.h"
#include "gate/guards.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"

namespace sandboxd {
namespace {

// "127.0.0.1:80", "[::1]:80": what a refused bind asked for.
std::string inet_text(const sockaddr* sa, socklen_t len) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    return "?";
}

}  // namespace

// Every bind() of such a session comes here, whatever its family: the
// gate binds the agent's own socket (fetched by descriptor) with its own
// copy of the address, so a thread rewriting the address, or putting
// another socket at the descriptor's number, after the gate looked changes
// nothing. IPv4 and IPv6 binds still meet the cgroup bind hooks, which
// judge by the socket's cgroup (the agent's), not the caller's.
GateOutcome do_bind(const GateRequest& r, GateContext& ctx) {
    const auto* sa = reinterpret_cast<const sockaddr*>(r.sockaddr.data());
    socklen_t len = socklen_t(r.sockaddr.size());
    bool pathname = len > sizeof(sa_family_t) && sa->sa_family == AF_UNIX && r.sockaddr[sizeof(sa_family_t)] != 0;
    // An abstract name is the host's to share (the session is in the
    // host's network namespace): bound by the agent, a host client that
    // connects to a display's, a bus's or a stopped daemon's name would
    // talk to the agent. Landlock's scoping stops only connecting out. A
    // name the kernel picks (autobind: the family alone) is no one's.
    bool abstract = len > sizeof(sa_family_t) && sa->sa_family == AF_UNIX && r.sockaddr[sizeof(sa_family_t)] == 0;
    if (abstract) {
        std::string name(r.sockaddr.begin() + sizeof(sa_family_t) + 1, r.sockaddr.end());
        JournalEntry e = entry_for(r, "net.bind", "unix @" + name);
        e.decision = ctx.audit ? "log" : "deny";
        e.rule = ctx.audit ? "would be denied: network: no abstract unix sockets" : "network: no abstract unix sockets";
        e.err = EPERM;
        GateOutcome o = ctx.audit ? GateOutcome{} : failed(EPERM);
        if (ctx.audit && ::bind(r.file.get(), sa, len) != 0) o = failed(errno);
        o.entry = std::move(e);
        return o;
    }
    if (!pathname) {
        if (::bind(r.file.get(), sa, len) == 0) return GateOutcome{};
        int err = errno;
        GateOutcome o = failed(err);
        // Refused by Landlock (TCP) or the cgroup bind hooks, which leave
        // a bind made by this thread for the gate to journal.
        bool inet = len >= sizeof(sa_family_t) && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
        if (inet && (err == EACCES || err == EPERM)) {
            JournalEntry e = entry_for(r, "net.bind", inet_text(sa, len));
            e.decision = "deny";
            e.rule = "network: no bind scope";
            e.layer = err == EACCES ? "landlock" : "cgroup-bpf";  // which refused it, before the gate saw it
            e.err = err;
            o.entry = std::move(e);
        }
        return o;
    }

    auto res = resolve_for_agent(r.root, r.dir1.get(), r.path1, false);
    if (!res) return failed(res.error().code ? res.error().code : EACCES);
    if (res->trailing_slash || res->name == "." || res->name == "..") return failed(EINVAL);
    if (const GuardedName* g = guarded_name(ctx, res->parent(), res->name))
        return refuse_guarded(r, "net.bind", display_path(ctx, res->parent(), res->name), *g);
    // With the agent's own address, resolved from its root as its own bind
    // would: the kernel keeps that address, and getsockname() says it. The
    // name was checked above; what a racing thread swaps in on the way
    // meanwhile can only give a socket node, which holds no code.
    std::string shown = display_path(ctx, res->parent(), res->name);
    int err = 0;
    if (ctx.binder && r.path1 == r.sun_path) {
        err = ctx.binder->bind(r.file.get(), r.root, r.dir1 ? r.dir1.get() : -1, r.sockaddr, r.umask());
    } else {
        // A path through the agent's /proc/self: by its last name, from its
        // directory (this thread's working directory is its own: the
        // worker unshared CLONE_FS).
        sockaddr_un at{};
        at.sun_family = AF_UNIX;
        if (res->name.size() >= sizeof at.sun_path) return failed(EINVAL);
        std::memcpy(at.sun_path, res->name.data(), res->name.size());
        UniqueFd here(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!here || ::fchdir(res->parent()) != 0) return failed(EACCES);
        use_agent_umask(r.umask());  // the socket file's mode
        if (::bind(r.file.get(), reinterpret_cast<const sockaddr*>(&at),
                   socklen_t(offsetof(sockaddr_un, sun_path) + res->name.size() + 1)) != 0)
            err = errno;
        (void)::fchdir(here.get());
    }
    // The socket file made, or refused: a file like mknod's, journaled here
    // (the event stream leaves the binds the gate makes to it).
    if (err != 0) return refused(r, "file.mknod", shown, Error{err, "bind"});
    ctx.note_made_at(res->parent(), res->name);
    GateOutcome o;
    JournalEntry e = entry_for(r, "file.mknod", shown);
    e.rule = "filesystem.write";
    o.entry = std::move(e);
    return o;
}

}  // namespace sandboxd
