// inotify_add_watch(): a watch reports the names in a directory and what
// happens to its files, which Landlock never sees (the call opens nothing):
// an agent could list a directory outside its read scope, or see when the
// user opens their keys. The gate adds the watch only on what the agent
// could read: the object, resolved as the agent, is opened for reading as
// the agent (in its Landlock domain) first, and the watch goes on that
// very object, through the worker's descriptor of it. Not on a directory
// that holds a hidden path: its events name the hidden entry and tell when
// the user reads it (/etc and /etc/shadow), which its cover keeps from
// reads; Landlock grants the directory itself, so only the gate can say no.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate/agent_view.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"

namespace sandboxd {

namespace {

// Whether the agent may read the object the worker holds at `obj` (an
// O_PATH descriptor): a directory listed, a regular file opened for
// reading. Anything else (a symbolic link watched itself, a FIFO, a
// device) by its directory, `parent`, being listable: opening it could
// block or act. 0, or the errno of the refusal.
int readable_as_agent(int obj, const struct stat& st, int parent) {
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    UniqueFd probe;
    if (S_ISDIR(st.st_mode)) probe = UniqueFd(::open(fd_link(obj).c_str(), flags | O_DIRECTORY));
    else if (S_ISREG(st.st_mode)) probe = UniqueFd(::open(fd_link(obj).c_str(), flags));
    else probe = UniqueFd(::openat(parent, ".", flags | O_DIRECTORY));
    return probe ? 0 : errno;
}

}  // namespace

GateOutcome do_watch(const GateRequest& r, GateContext& ctx) {
    const char* action = "file.watch";
    uint32_t mask = uint32_t(r.args[2]);
    bool follow = !(mask & IN_DONT_FOLLOW);
    auto res = resolve_for_agent(r.root, r.dir1.get(), r.path1, follow);
    if (!res) return failed(res.error().code ? res.error().code : EACCES);
    int parent = res->parent();
    const std::string& name = res->name;
    UniqueFd obj(name == "." || name == ".." ? ::openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)
                                              : ::openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!obj) return failed(errno);
    struct stat st{};
    if (::fstat(obj.get(), &st) != 0) return failed(errno);
    if ((mask & IN_ONLYDIR) && !S_ISDIR(st.st_mode)) return failed(ENOTDIR);
    if (res->trailing_slash && !S_ISDIR(st.st_mode)) return failed(ENOTDIR);
    GateOutcome o;
    bool holds_hidden = S_ISDIR(st.st_mode) && ctx.hidden_parents.count({st.st_dev, st.st_ino});
    if (int err = holds_hidden ? EACCES : readable_as_agent(obj.get(), st, parent)) {
        std::string where = display_path(ctx, parent, name);
        o = refused(r, action, where,
                    Error{err, holds_hidden ? "watching a directory that holds a hidden path: its events name it"
                                            : "watching what the agent may not read"});
        if (o.entry) {
            o.entry->rule = holds_hidden ? "filesystem.hide" : "filesystem.read";
            o.entry->layer = "gate";
        }
        if (!ctx.audit) return o;
        // Audit mode: said, and done all the same.
        if (o.entry) {
            o.entry->decision = "log";
            o.entry->rule = std::string("would be denied: ") + (holds_hidden ? "filesystem.hide" : "filesystem.read");
        }
        o.err = 0;
    }
    // On the object looked at: a symbolic link watched itself by its name
    // in the directory checked (the magic link would be watched instead);
    // anything else through the worker's own descriptor of it.
    int wd;
    if (S_ISLNK(st.st_mode)) {
        UniqueFd here(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!here || ::fchdir(parent) != 0) return failed(EACCES);
        wd = ::inotify_add_watch(r.file.get(), name.c_str(), mask);
        int err = errno;
        (void)::fchdir(here.get());
        errno = err;
    } else {
        wd = ::inotify_add_watch(r.file.get(), fd_link(obj.get()).c_str(), mask & ~uint32_t(IN_DONT_FOLLOW));
    }
    if (wd < 0) return failed(errno);
    o.value = wd;
    return o;
}

}  // namespace sandboxd
