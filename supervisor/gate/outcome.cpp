#include "gate/outcome.h"

#include <cerrno>

namespace sandboxd {

GateOutcome failed(int err) {
    GateOutcome o;
    o.err = err;
    return o;
}

JournalEntry entry_for(const GateRequest& r, std::string action, std::string target) {
    JournalEntry e;
    e.action = std::move(action);
    e.target = std::move(target);
    e.decision = "allow";
    e.rule = "filesystem.destroy";
    e.layer = "seccomp-notify";
    e.pid = r.pid;
    e.comm = r.comm;
    return e;
}

// The kernel said no (Landlock, permissions, a read-only mount) or the gate
// did (no snapshot possible): journaled as a denial. Ordinary failures
// (ENOENT from `rm -f`) are the agent's business and the event stream's.
namespace {
bool is_refusal(int err) { return err == EACCES || err == EPERM || err == EROFS || err == ENOSPC || err == EBUSY; }

}  // namespace

GateOutcome refused(const GateRequest& r, std::string action, std::string target, const Error& why) {
    GateOutcome o = failed(why.code ? why.code : EPERM);
    if (is_refusal(o.err)) {
        bool writes = action == "file.open-write" || action == "file.create";
        JournalEntry e = entry_for(r, std::move(action), std::move(target));
        if (writes) e.rule = "filesystem.write";
        e.decision = "deny";
        e.err = o.err;
        if (o.err == ENOSPC) e.rule = "snapshots.budget";
        else if (why.message.starts_with("no snapshot")) e.rule = "snapshots";
        else e.layer = "kernel";  // Landlock, file permissions or the mount namespace
        e.detail = {{"reason", why.describe()}};
        o.entry = std::move(e);
    }
    return o;
}

Error given_up(Error e) {
    if (e.code == ECANCELED) return Error{kRestartCall, "given up: the session is being frozen, or its caller is gone"};
    return e;
}

Error foreign_descriptor() {
    return Error{EROFS, "opened outside the session (a stream it was handed): not the session's to change"};
}

}  // namespace sandboxd
