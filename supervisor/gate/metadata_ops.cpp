// chmod, chown, extended attributes.
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/xattr.h>

#include <string_view>

#include "gate/agent_view.h"
#include "gate/guards.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"
#include "base/hex.h"

namespace sandboxd {


// chmod, chown and extended attributes: the metadata before the change is
// the snapshot, kept in the journal line itself. The object is pinned by
// an O_PATH descriptor (resolved as the agent, or the agent's own open
// file) and changed through it.
GateOutcome do_metadata(const GateRequest& r, GateContext& ctx) {
    const uint64_t* a = r.args;
    const char* action = "file.chmod";
    bool follow = true;
    switch (r.nr) {
        case SYS_chown: case SYS_fchown: action = "file.chown"; break;
        case SYS_lchown: action = "file.chown"; follow = false; break;
        case SYS_fchownat:
            action = "file.chown";
            if (a[4] & ~uint64_t(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return failed(EINVAL);
            follow = !(a[4] & AT_SYMLINK_NOFOLLOW);
            break;
        case SYS_setxattr: case SYS_fsetxattr: action = "file.setxattr"; break;
        case SYS_lsetxattr: action = "file.setxattr"; follow = false; break;
        case SYS_removexattr: case SYS_fremovexattr: action = "file.removexattr"; break;
        case SYS_lremovexattr: action = "file.removexattr"; follow = false; break;
    }
    UniqueFd target;
    int fd = r.file.get();
    if (!r.file) {
        bool empty_ok = r.nr == SYS_fchownat && (a[4] & AT_EMPTY_PATH) && r.path1.empty();
        if (empty_ok) {
            target = UniqueFd(::fcntl(r.dir1.get(), F_DUPFD_CLOEXEC, 3));
        } else {
            auto res = resolve_for_agent(r.root, r.dir1.get(), r.path1, follow);
            if (!res) return refused(r, action, r.path1, res.error());
            target = UniqueFd(::openat(res->parent(), res->name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        }
        if (!target) return failed(errno);
        fd = target.get();
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0) return failed(errno);
    OpenObject obj = open_object(fd, st);
    if (r.foreign_mount) return refused(r, action, obj.path, foreign_descriptor());
    // An object with a name the host cannot reach (one kept in the snapshot
    // store, held by a descriptor opened before its unlink; a path past
    // PATH_MAX) would change with no undo record: refused. A file with no
    // name at all (O_TMPFILE, not linked yet) and the session's own /tmp
    // need none.
    if (!obj.on_host && st.st_nlink > 0 && !on_private_fs(ctx, fd))
        return refused(r, action, obj.path, Error{EACCES, "no undo possible: not reachable from the host"});
    // A protected file keeps its mode, owner and attributes (where its
    // read-only mount went with a host's rename, or it was made since).
    if (auto no = refuse_guarded_open_file(r, ctx, action, obj.path, fd, st)) return std::move(*no);
    const std::string& agent_path = obj.path;
    const char* link = obj.link.c_str();
    // No set-user-id or set-group-id file: the session's mounts are
    // nosuid, but the host's are not, and one made in the workspace would
    // run as the agent's user for anyone on the host who finds it (that
    // user is often the one behind sudo). Directories keep set-group-id,
    // which only passes their group on.
    if ((r.nr == SYS_chmod || r.nr == SYS_fchmod || r.nr == SYS_fchmodat) && !S_ISDIR(st.st_mode) &&
        (mode_t(r.nr == SYS_fchmodat ? a[2] : a[1]) & (S_ISUID | S_ISGID))) {
        GateOutcome o = refused(r, action, agent_path, Error{EPERM, "no set-user-id or set-group-id files"});
        if (o.entry) {
            o.entry->rule = "set-id files";
            o.entry->layer = "gate";
        }
        return o;
    }

    nlohmann::json undo;
    std::string old_value;
    bool had_value = false;
    if (r.nr == SYS_setxattr || r.nr == SYS_lsetxattr || r.nr == SYS_fsetxattr || r.nr == SYS_removexattr ||
        r.nr == SYS_lremovexattr || r.nr == SYS_fremovexattr) {
        old_value.resize(65536);
        // Through the magic link, which lands on the pinned object itself
        // (also a symlink, for the l* calls): the non-l calls, so that the
        // link in /proc is jumped through rather than acted on.
        ssize_t v = ::getxattr(link, r.xattr_name.c_str(), old_value.data(), old_value.size());
        had_value = v >= 0;
        old_value.resize(had_value ? size_t(v) : 0);
        undo = {{"op", "xattr"}, {"path", agent_path}, {"name", r.xattr_name}, {"ino", uint64_t(st.st_ino)}};
        if (had_value) undo["value_hex"] = to_hex(old_value);
        // An access ACL is the mode too: setting one rewrites the mode (one
        // equivalent to a mode is kept as the mode alone), and may clear
        // the set-group-id bit. Rollback puts the mode back after it.
        if (!S_ISLNK(st.st_mode)) undo["mode"] = st.st_mode & 07777;
    } else {
        undo = {{"op", "meta"}, {"path", agent_path}, {"mode", st.st_mode & 07777}, {"uid", st.st_uid},
                {"gid", st.st_gid}, {"ino", uint64_t(st.st_ino)}};
        // A chown strips file capabilities: kept for rollback to put back.
        char caps[256];
        ssize_t v = S_ISREG(st.st_mode) ? ::getxattr(link, "security.capability", caps, sizeof caps) : -1;
        if (v > 0) undo["xattrs"] = {{"security.capability", to_hex(std::string_view(caps, size_t(v)))}};
    }

    int rc = 0;
    switch (r.nr) {
        case SYS_chmod: case SYS_fchmod: case SYS_fchmodat:
            // Through the magic link: chmod cannot take an O_PATH descriptor.
            rc = S_ISLNK(st.st_mode) ? (errno = EOPNOTSUPP, -1) : ::chmod(link, mode_t(r.nr == SYS_fchmodat ? a[2] : a[1]));
            break;
        case SYS_chown: case SYS_lchown: case SYS_fchown:
            rc = ::fchownat(fd, "", uid_t(a[1]), gid_t(a[2]), AT_EMPTY_PATH);
            break;
        case SYS_fchownat:
            rc = ::fchownat(fd, "", uid_t(a[2]), gid_t(a[3]), AT_EMPTY_PATH);
            break;
        case SYS_setxattr: case SYS_lsetxattr: case SYS_fsetxattr:
            rc = ::setxattr(link, r.xattr_name.c_str(), r.xattr_value.data(), r.xattr_value.size(), int(a[4]));
            break;
        default:
            rc = ::removexattr(link, r.xattr_name.c_str());
            break;
    }
    if (rc != 0) return refused(r, action, agent_path, Error{errno, action});
    GateOutcome o;
    JournalEntry e = entry_for(r, action, obj.on_host ? agent_path : agent_path + " (session-private)");
    e.rule = "filesystem.write";
    if (obj.on_host) {
        e.undo = std::move(undo);
        e.detail = {{"before", file_meta(st)}};
    }
    o.entry = std::move(e);
    return o;
}

}  // namespace sandboxd
