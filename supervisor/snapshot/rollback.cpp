#include "snapshot/rollback.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/file_io.h"
#include "base/hex.h"
#include "base/paths.h"
#include "base/time_util.h"
#include "journal/journal.h"
#include "journal/json_text.h"
#include "snapshot/store.h"
#include "snapshot/xattrs.h"

namespace sandboxd {
namespace {

using json = nlohmann::json;


bool under(const std::string& path, const std::string& top) {
    return path == top || (path.starts_with(top) && (top.ends_with('/') || path[top.size()] == '/'));
}

// A text field of an undo record, with the exact bytes of a name that is
// not UTF-8 (journal/json_text.h).
uint64_t num(const json& j, const char* key) {
    return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<uint64_t>()
           : j.contains(key) && j[key].is_number_integer() ? uint64_t(j[key].get<int64_t>())
                                                            : 0;
}

// A path's parent directory, opened without following any symlink on the
// way, and its last component. Rollback runs as root in directories other
// users may write: every change is made relative to this descriptor, so a
// symlink planted in a path after the session cannot send root elsewhere.
struct At {
    UniqueFd dir;
    std::string base;
};

Result<At> at(const std::string& path) {
    if (path.empty() || path.front() != '/' || path == "/") return plain_error("not an absolute path: " + path);
    UniqueFd dir = open_resolved(AT_FDCWD, parent_path(path).c_str(), O_PATH | O_DIRECTORY,
                                 RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (!dir) {
        if (errno == ELOOP) return Error{EEXIST, "a symbolic link now lies on the way to " + path + "; not followed"};
        return errno_error("cannot open the directory of " + path);
    }
    return At{std::move(dir), last_component(path)};
}

// A directory by its absolute path, with no symlink followed anywhere on
// the way: rollback's sweep must not be led out of the write trees (a
// symlink the agent left in place of a directory of --path).
UniqueFd open_dir_strictly(const std::string& path) {
    return open_resolved(AT_FDCWD, path.c_str(), O_RDONLY | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

// A store's directory, as sandboxd made it: inside a directory of root's
// that no one else may enter (mode 0700: the state directory's, or
// .sandboxd-snapshots at a mount root), reached with no symlink on the
// way. The agent may own a mount root a store lies on, and a later session
// may write there: it could move the real .sandboxd-snapshots aside and
// put one of its own in its place, whose "snapshots" rollback would then
// bring back (its bytes in the user's file) or hang in (a FIFO). A red-team
// finding. Everything in a store is then reached from this descriptor.
Result<UniqueFd> open_store(const std::string& store) {
    std::string parent = parent_path(store);
    UniqueFd up =
        open_resolved(AT_FDCWD, parent.c_str(), O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (!up && errno == ENOENT) return errno_error("cannot open " + parent);  // removed: its snapshots are missing
    struct stat st{};
    if (!up || ::fstat(up.get(), &st) != 0 || st.st_uid != 0 || (st.st_mode & 077) != 0)
        return Error{EACCES, parent + " is not sandboxd's own (not root's with mode 0700, or reached through a "
                                      "symbolic link): the snapshots in it are not used"};
    UniqueFd dir(::openat(up.get(), last_component(store).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) return errno_error("cannot open the snapshot store " + store);  // ENOENT: pruned
    return dir;
}

// What a file or directory rollback makes inherits from its directory's
// default ACL, which may be the agent's (undone only later, newest first)
// or one set since: taken off, so that what comes back has the rights its
// record gives it and no one else's (a red-team finding: a restored secret
// readable by a user the agent named).
Status drop_inherited_acls(int fd, bool dir) {
    for (const char* name : {"system.posix_acl_access", "system.posix_acl_default"}) {
        if (!dir && std::string_view(name) == "system.posix_acl_default") continue;
        if (::fremovexattr(fd, name) != 0 && errno != ENODATA && errno != ENOTSUP && errno != EOPNOTSUPP)
            return errno_error(std::string("cannot remove the inherited ") + name);
    }
    return {};
}

timespec to_timespec(uint64_t ns) { return timespec{time_t(ns / 1000000000), long(ns % 1000000000)}; }

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

struct Applier {
    const RollbackOptions& opts;
    uint64_t start_usec = 0;  // the session's start: what is born after it, the agent made
    uint64_t end_usec = 0;    // changes after this are someone else's
    std::string trash;        // where removed objects go
    // The same in the session's store on each other filesystem (a
    // workspace on a mount of its own): a rename cannot cross them.
    std::map<dev_t, std::string> trash_on;
    // The session's stores that open_store() accepted, by path; a snapshot
    // is only ever reached from one of these.
    std::map<std::string, UniqueFd> store_fds;
    std::map<std::string, std::string> refused_stores;  // path -> why not used
    std::set<std::string> gone_stores;                  // removed (pruned): their snapshots are missing
    // A snapshot's directory (opened beneath its verified store, no
    // symlink followed) and its name there.
    Result<At> in_store(const std::string& snap) {
        for (const auto& [store, fd] : store_fds) {
            if (!snap.starts_with(store + "/")) continue;
            std::string rel = snap.substr(store.size() + 1);
            size_t slash = rel.find_last_of('/');
            if (slash == std::string::npos) return At{UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3)), rel};
            UniqueFd dir = open_resolved(fd.get(), rel.substr(0, slash).c_str(), O_PATH | O_DIRECTORY,
                                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
            if (!dir) return errno_error("cannot open the directory of snapshot " + snap);
            return At{std::move(dir), rel.substr(slash + 1)};
        }
        for (const auto& [store, why] : refused_stores)
            if (snap.starts_with(store + "/")) return Error{EACCES, why};
        for (const auto& store : gone_stores)
            if (snap.starts_with(store + "/")) return Error{ENOENT, "snapshot " + snap + " is missing"};
        return Error{EACCES, "snapshot " + snap + " is in none of the session's stores"};
    }
    std::string session_id;  // names a store made for a filesystem that had none
    // The directories holding the session's stores at mount roots (and
    // those of other sessions there): never swept. Only these: a directory
    // the agent made under the same name elsewhere is the agent's.
    std::set<std::string> store_parents;
    std::set<std::pair<dev_t, ino_t>> produced;  // objects this rollback itself touched
    // Objects an earlier rollback of this session wrote: never the agent's
    // to sweep (after a rollback of the frozen session, they are born
    // before its end).
    std::set<std::pair<dev_t, ino_t>> earlier;
    std::vector<std::pair<std::string, json>> dir_times;
    std::set<std::string> dropped;  // snapshots the gate dropped to make room
    uint64_t from_usec = 0;         // the point rolled back to
    uint64_t trash_seq = 0;

    std::optional<struct statx> look(const std::string& path) {
        struct statx sx{};
        if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
            return std::nullopt;
        return sx;
    }
    static uint64_t usec(const statx_timestamp& t) { return uint64_t(t.tv_sec) * 1000000 + t.tv_nsec / 1000; }
    static std::pair<dev_t, ino_t> key_of(const struct statx& sx) {
        return {makedev(sx.stx_dev_major, sx.stx_dev_minor), sx.stx_ino};
    }
    bool ours(const struct statx& sx) { return produced.count(key_of(sx)); }
    void mark(const std::string& path) {
        if (auto sx = look(path)) produced.insert(key_of(*sx));
    }
    // Objects this rollback wrote anew (old bytes copied back, directories
    // and links made again): born now, which file times, taken from the
    // kernel's coarse clock up to a tick behind `end_usec` of a frozen
    // session, can put before that end. Never the agent's to sweep.
    std::set<std::pair<dev_t, ino_t>> written;
    void mark_written(const std::string& path) {
        if (auto sx = look(path)) {
            produced.insert(key_of(*sx));
            written.insert(key_of(*sx));
        }
    }
    // Objects moved back whose record says the agent did not make them.
    std::set<std::pair<dev_t, ino_t>> not_made;
    bool not_the_agents(const struct statx& sx) {
        if (brought_for_mover.count(key_of(sx))) return false;
        return earlier.count(key_of(sx)) || written.count(key_of(sx)) || not_made.count(key_of(sx));
    }
    // What the agent made after the point and removed, brought back (made
    // anew, for a directory) only for an earlier line to move it: the
    // agent's still, whatever its birth time, for make_room and the sweep
    // to take away (a directory the agent made, moved and removed came
    // back as rollback's own, and stayed: in the way of the user's file,
    // or alone with rc 0; helper 44).
    std::set<std::pair<dev_t, ino_t>> brought_for_mover;
    bool agents_brought_back(const struct statx& sx) { return brought_for_mover.count(key_of(sx)); }
    // at(path), recreating the missing directories on its way: the object
    // was in them when the agent removed it, and the lines that said they
    // were removed too can be lost (a supervisor killed before writing
    // them). Each made directory takes its parent's owner and mode, is
    // marked as this rollback's, and is listed in `recreated`.
    std::vector<std::string> recreated;
    Result<At> at_making_parents(const std::string& path) {
        auto w = at(path);
        if (w || w.error().code != ENOENT) return w;
        std::vector<std::string> missing;
        for (std::string dir = parent_path(path); dir != "/" && !look(dir); dir = parent_path(dir)) missing.push_back(dir);
        for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
            auto pw = at(*it);
            if (!pw) return pw.error();
            struct stat up{};
            if (::fstat(pw->dir.get(), &up) != 0) return errno_error("cannot stat the directory of " + *it);
            // Made here, or not taken: one that appeared meanwhile is
            // someone else's, not to be chowned and filled.
            if (::mkdirat(pw->dir.get(), pw->base.c_str(), 0700) != 0) {
                if (errno == EEXIST) return Error{EEXIST, *it + " appeared while rollback was making it"};
                return errno_error("cannot recreate directory " + *it);
            }
            auto made = open_at(pw->dir.get(), pw->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (!made) return made.error();
            SANDBOXD_TRY(drop_inherited_acls(made->get(), true));
            if (::fchown(made->get(), up.st_uid, up.st_gid) != 0 || ::fchmod(made->get(), up.st_mode & 07777) != 0)
                return errno_error("cannot set the owner and mode of " + *it);
            mark_written(*it);
            recreated.push_back(*it);
        }
        return at(path);
    }
    // A directory's ctime moves with every entry made or removed in it
    // (also by this rollback): its entries are checked one by one instead.
    std::set<std::pair<dev_t, ino_t>> unlinked_from;  // files a name of which this run took away
    bool changed_after_end(const struct statx& sx) {
        return !S_ISDIR(sx.stx_mode) && !ours(sx) && !unlinked_from.count(key_of(sx)) && usec(sx.stx_ctime) > end_usec;
    }
    // Born while the session ran: what is born after its end is someone
    // else's (the user's new file in a directory the agent made).
    bool born_in_session(const struct statx& sx) {
        return start_usec && (sx.stx_mask & STATX_BTIME) && usec(sx.stx_btime) >= start_usec &&
               usec(sx.stx_btime) <= end_usec;
    }
    // Everything under a directory made during the session, recursively;
    // walked by descriptors, so that depth past PATH_MAX is no limit.
    bool all_born_in_session(const std::string& dir) {
        UniqueFd fd = open_dir_strictly(dir);
        return fd && all_born_in_session_at(fd.get(), 0);
    }
    static constexpr int kMaxDepth = 4096;
    bool all_born_in_session_at(int dirfd, int depth) {
        if (depth > kMaxDepth) return false;
        bool ok = true;
        for_each_entry(dirfd, [&](const std::string& n) {
            struct statx sx{};
            if (::statx(dirfd, n.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0 ||
                (!born_in_session(sx) && !agents_brought_back(sx)) || not_the_agents(sx) || changed_after_end(sx)) {
                ok = false;
            } else if (S_ISDIR(sx.stx_mode)) {
                UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                ok = sub && all_born_in_session_at(sub.get(), depth + 1);
            }
            return ok;
        });
        return ok;
    }
    // Calls `f` with each name in the directory open at `dirfd` (not . and
    // ..) until it returns false.
    template <typename F>
    static void for_each_entry(int dirfd, F f) {
        int own = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (own < 0) return;
        DIR* d = ::fdopendir(own);
        if (!d) {
            ::close(own);
            return;
        }
        std::vector<std::string> names;
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        ::closedir(d);
        for (const auto& n : names)
            if (!f(n)) break;
    }
    // Names in the trash are "SEQ-NAME", NAME cut so that it fits NAME_MAX.
    static constexpr size_t kTrashNameMax = 200;
    // `name` in the directory open at `dirfd`, which `shown` names.
    Status move_to_trash_at(int dirfd, const std::string& name, const std::string& shown) {
        struct stat dir{}, main{};
        if (::fstat(dirfd, &dir) != 0) return errno_error("cannot look at the directory of " + shown);
        auto other = trash_on.find(dir.st_dev);
        if (other == trash_on.end() && ::stat(parent_path(trash).c_str(), &main) == 0 && main.st_dev != dir.st_dev) {
            // A filesystem the session kept no snapshots on (one mounted
            // inside the workspace): a store of its own at its mount root,
            // sandboxd's as the gate's are, for a rename cannot cross.
            auto root = mount_root_of_dir(dirfd);
            if (!root) return root.error();
            auto store = SnapshotStore::create_in(store_parent_at(*root), session_id, 0, 0,
                                                  std::make_shared<SnapshotBudget>());
            if (!store) return store.error();
            store_parents.insert(parent_path(store->dir()));  // never swept itself
            store_fds.emplace(store->dir(), UniqueFd(::fcntl(store->dir_fd(), F_DUPFD_CLOEXEC, 3)));
            other = trash_on.emplace(dir.st_dev, store->dir() + "/rolled-back").first;
        }
        const std::string& bin = other != trash_on.end() ? other->second : trash;
        if (bin.empty()) return plain_error("no place to keep removed objects");
        auto into = trash_dir(bin);
        if (!into) return into.error();
        std::string dst = std::to_string(++trash_seq) + "-" + name.substr(0, kTrashNameMax);
        if (::renameat2(dirfd, name.c_str(), *into, dst.c_str(), RENAME_NOREPLACE) != 0)
            return errno_error("cannot move " + shown + " out of the way");
        return {};
    }
    // The trash `bin` (STORE/rolled-back), made in its verified store by
    // descriptor; the state directory's own by path, which only root can
    // reach.
    std::map<std::string, UniqueFd> bin_fds;
    Result<int> trash_dir(const std::string& bin) {
        if (auto it = bin_fds.find(bin); it != bin_fds.end()) return it->second.get();
        Result<UniqueFd> fd = Error{ENOENT, ""};
        if (auto store = store_fds.find(parent_path(bin)); store != store_fds.end()) {
            if (::mkdirat(store->second.get(), "rolled-back", 0700) != 0 && errno != EEXIST)
                return errno_error("cannot create " + bin);
            fd = open_at(store->second.get(), "rolled-back", O_PATH | O_DIRECTORY | O_NOFOLLOW);
        } else if (bin == trash) {
            if (::mkdir(bin.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("cannot create " + bin);
            fd = open_fd(bin, O_PATH | O_DIRECTORY | O_NOFOLLOW);
        } else {
            return Error{EACCES, "no verified store for " + bin};
        }
        if (!fd) return fd.error();
        int raw = fd->get();
        bin_fds.emplace(bin, std::move(*fd));
        return raw;
    }
    Status move_to_trash(const std::string& path) {
        auto w = at(path);
        if (!w) return w.error();
        return move_to_trash_at(w->dir.get(), w->base, path);
    }
    // A path that must be free for something to come back: free, or
    // holding something the agent made that no journal line accounts for
    // (a file created without O_TRUNC), which is taken away.
    Status make_room(const std::string& path) {
        auto sx = look(path);
        if (!sx) return {};
        if (opts.force || ((born_in_session(*sx) || agents_brought_back(*sx)) && !changed_after_end(*sx) &&
                           (!S_ISDIR(sx->stx_mode) || all_born_in_session(path))))
            return move_to_trash(path);
        return Error{EEXIST, path + " exists and is not the agent's (changed after the session, or there before it)"};
    }
    static Status set_meta(int fd, const json& meta) {
        if (::fchown(fd, uid_t(num(meta, "uid")), gid_t(num(meta, "gid"))) != 0) return errno_error("chown");
        if (::fchmod(fd, mode_t(num(meta, "mode"))) != 0) return errno_error("chmod");
        timespec t[2] = {to_timespec(num(meta, "atime_ns")), to_timespec(num(meta, "mtime_ns"))};
        if (::futimens(fd, t) != 0) return errno_error("set times");
        return {};
    }
    // The extended attributes the undo record carries (snapshot/xattrs.h),
    // if any: after set_meta(), whose chown strips file capabilities.
    static Status put_back_kept(int fd, const json& record) {
        if (!record.contains("xattrs")) return {};
        return put_back_xattrs(fd, record["xattrs"]);
    }

    // A file of rollback's own next to the one it restores, under a name
    // no other file has: made with O_EXCL, never by removing what has the
    // name (the agent may have put an original there), and short, so that
    // it fits where the restored name itself only just fits.
    static Result<UniqueFd> make_temp(int dir, std::string& name) {
        for (int attempt = 0; attempt < 32; ++attempt) {
            uint64_t r = 0;
            if (::getrandom(&r, sizeof r, 0) != ssize_t(sizeof r)) return errno_error("getrandom");
            char buf[40];
            std::snprintf(buf, sizeof buf, ".sandboxd-rollback-%012llx", (unsigned long long)(r & 0xffffffffffffULL));
            name = buf;
            auto fd = open_at(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
            if (fd || fd.error().code != EEXIST) return fd;
        }
        return Error{EEXIST, "cannot find a free name for a temporary file"};
    }

    static Status copy_xattrs(int from, int to) {
        std::vector<char> names(65536);
        ssize_t n = ::flistxattr(from, names.data(), names.size());
        if (n < 0) return errno == ENOTSUP ? Status{} : errno_error("list");
        std::vector<char> value(65536);
        for (ssize_t i = 0; i < n;) {
            const char* name = names.data() + i;
            i += ssize_t(std::strlen(name)) + 1;
            ssize_t v = ::fgetxattr(from, name, value.data(), value.size());
            if (v < 0) return errno_error(std::string("read ") + name);
            if (::fsetxattr(to, name, value.data(), size_t(v), 0) != 0) return errno_error(std::string("set ") + name);
        }
        return {};
    }

    Status restore_in_place(const std::string& path, const At& w, int in, const json& meta) {
        // Non-blocking, and only a regular file: something else swapped in
        // since the look (a FIFO by another session on the workspace) would
        // hold rollback in its open, or take the old bytes elsewhere.
        auto out = open_at(w.dir.get(), w.base, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
        if (!out) return out.error();
        struct stat now{};
        if (::fstat(out->get(), &now) != 0 || !S_ISREG(now.st_mode))
            return Error{EEXIST, path + " is no longer a regular file"};
        if (::ftruncate(out->get(), 0) != 0) return errno_error("cannot empty " + path);
        if (::ioctl(out->get(), FICLONE, in) != 0) {
            auto bytes = read_fd(in);
            if (!bytes) return bytes.error();
            SANDBOXD_TRY(write_all(out->get(), *bytes));
        }
        if (auto st = set_meta(out->get(), meta); !st) return Error{st.error().code, "restoring " + path + ": " + st.error().message};
        if (auto st = put_back_kept(out->get(), meta); !st)
            return Error{st.error().code, "restoring " + path + ": " + st.error().message};
        if (::fsync(out->get()) != 0) return errno_error("cannot sync the old bytes of " + path);
        mark(path);
        return {};
    }

    Status restore(const json& r) {
        Status done = restore_object(r);
        std::string path = text_at(r, "path");
        if (done && born_after_point(r) && moved_by_earlier_line(path))  // brought back (see restore_object)
            if (auto sx = look(path)) brought_for_mover.insert(key_of(*sx));
        return done;
    }

    Status restore_object(const json& r) {
        std::string path = text_at(r, "path"), how = text_at(r, "how"), snap = text_at(r, "snapshot");
        const json& meta = r.contains("meta") ? r["meta"] : json::object();
        if (path.empty() || path.front() != '/') return plain_error("undo record has no absolute path");
        if (born_after_point(r) && !moved_by_earlier_line(path)) {
            // The agent made it after the point and took it away again:
            // it was not there then, and nothing is to come back. Brought
            // back, it would be rollback's own and stay (what the sweep
            // takes away is the agent's), and keep the user's object from
            // coming back where the agent had put one of its own (a file
            // replaced by a directory holding files, all removed: the
            // directory came back for the files, and the file could not).
            absent_at_point.insert(path);
            if (how == "mkdir") unmade_dirs.push_back(path);
            return {};
        }
        if (how == "mkdir") {
            // A directory with the name already: one this rollback made on
            // its way to something inside (it takes the recorded owner,
            // mode and times now), or one made after the original was
            // removed. The agent's (`rmdir d && mkdir d`: it may have given
            // it any mode) goes like anything else it made and the original
            // comes back; anyone else's is a conflict. Never taken for the
            // original: the user's directory would be left the agent's.
            auto sx = look(path);
            bool made_here = sx && S_ISDIR(sx->stx_mode) && ours(*sx);
            if (!made_here) SANDBOXD_TRY(make_room(path));
            auto w = at_making_parents(path);
            if (!w) return w.error();
            if (!made_here && ::mkdirat(w->dir.get(), w->base.c_str(), 0700) != 0)
                return errno_error("cannot recreate directory " + path);
            auto fd = open_at(w->dir.get(), w->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (!fd) return fd.error();
            if (auto st = drop_inherited_acls(fd->get(), true); !st)
                return Error{st.error().code, "restoring " + path + ": " + st.error().message};
            if (::fchown(fd->get(), uid_t(num(meta, "uid")), gid_t(num(meta, "gid"))) != 0 ||
                ::fchmod(fd->get(), mode_t(num(meta, "mode"))) != 0)
                return errno_error("cannot set the owner and mode of " + path);
            if (auto st = put_back_kept(fd->get(), meta); !st)
                return Error{st.error().code, "restoring " + path + ": " + st.error().message};
            dir_times.emplace_back(path, meta);
            mark_written(path);
            return {};
        }
        if (how == "symlink") {
            SANDBOXD_TRY(make_room(path));
            auto w = at_making_parents(path);
            if (!w) return w.error();
            if (::symlinkat(text_at(meta, "target").c_str(), w->dir.get(), w->base.c_str()) != 0)
                return errno_error("cannot recreate " + path);
            (void)::fchownat(w->dir.get(), w->base.c_str(), uid_t(num(meta, "uid")), gid_t(num(meta, "gid")),
                             AT_SYMLINK_NOFOLLOW);
            mark_written(path);
            return {};
        }
        auto kept = snap.empty() ? Result<At>(Error{ENOENT, "no snapshot"}) : in_store(snap);
        if (!kept && kept.error().code == EACCES) return kept.error();
        struct stat ks{};
        if (!kept || ::fstatat(kept->dir.get(), kept->base.c_str(), &ks, AT_SYMLINK_NOFOLLOW) != 0) {
            if (dropped.count(snap)) {
                return Error{ENOENT, "snapshot " + snap + " was dropped to make room (the object was made during "
                                     "the session, and the snapshot budget was full)"};
            }
            return Error{ENOENT, "snapshot " + (snap.empty() ? std::string("(none)") : snap) + " is missing"};
        }
        if (how == "move") {
            SANDBOXD_TRY(make_room(path));
            auto w = at_making_parents(path);
            if (!w) return w.error();
            if (::renameat2(kept->dir.get(), kept->base.c_str(), w->dir.get(), w->base.c_str(), RENAME_NOREPLACE) != 0)
                return errno_error("cannot move the snapshot back to " + path);
            mark(path);
            // Born in the session, yet not the agent's by the gate's record
            // (which gives the agent's own a birth time): a file the user
            // saved meanwhile. Back in place, and not swept away again.
            if (!r.contains("born_usec"))
                if (auto sx = look(path)) not_made.insert(key_of(*sx));
            return {};
        }
        if (how != "copy") return plain_error("unknown snapshot kind '" + how + "'");
        // Old bytes over the current file: the current one must be the one
        // the agent truncated (or one this rollback put there).
        auto current = look(path);
        if (current && !opts.force) {
            uint64_t ino = num(r, "ino");
            if ((ino && current->stx_ino != ino && !ours(*current)) || changed_after_end(*current))
                return Error{EEXIST, path + " was changed after the session (or replaced by another file)"};
        }
        // Non-blocking, and only a regular file: the gate makes its copies so.
        auto in = open_at(kept->dir.get(), kept->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
        if (!in) return in.error();
        struct stat is{};
        if (::fstat(in->get(), &is) != 0 || !S_ISREG(is.st_mode))
            return Error{EACCES, "snapshot " + snap + " is not a regular file: not used"};
        auto w = at_making_parents(path);
        if (!w) return w.error();
        // The file had other names when the agent wrote to it, and is still
        // that file: the old bytes go back into it, so that every name has
        // them again (a new file renamed over this name would leave the
        // others with what the agent wrote).
        if (current && num(r, "links") > 1 && current->stx_ino == num(r, "ino") && S_ISREG(current->stx_mode))
            return restore_in_place(path, *w, in->get(), meta);
        std::string tmp;
        auto out = make_temp(w->dir.get(), tmp);
        if (!out) return out.error();
        auto fail = [&](Error e) -> Status {
            ::unlinkat(w->dir.get(), tmp.c_str(), 0);
            return e;
        };
        if (auto st = drop_inherited_acls(out->get(), false); !st)
            return fail(Error{st.error().code, "restoring " + path + ": " + st.error().message});
        if (::ioctl(out->get(), FICLONE, in->get()) != 0) {
            auto bytes = read_fd(in->get());
            if (!bytes) return fail(bytes.error());
            if (auto st = write_all(out->get(), *bytes); !st) return fail(st.error());
        }
        if (auto st = set_meta(out->get(), meta); !st) return fail(Error{st.error().code, "restoring " + path + ": " + st.error().message});
        // Extended attributes (ACLs, capabilities, the user's own): those
        // of the file being replaced, which every later change to them has
        // been undone on by now; the snapshot's (user.* only) when it is
        // gone. After the chown, which drops file capabilities.
        {
            auto replaced = open_at(w->dir.get(), w->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
            struct stat cs{};
            bool regular = replaced && ::fstat(replaced->get(), &cs) == 0 && S_ISREG(cs.st_mode);
            if (auto st = copy_xattrs(regular ? replaced->get() : in->get(), out->get()); !st)
                return fail(Error{st.error().code, "restoring the extended attributes of " + path + ": " + st.error().message});
            // Then the original's, as the record kept them: what a write
            // stripped (capabilities), and what a copy on another
            // filesystem could not hold (ACLs, long values).
            if (auto st = put_back_kept(out->get(), meta); !st)
                return fail(Error{st.error().code, "restoring the extended attributes of " + path + ": " + st.error().message});
        }
        if (::fsync(out->get()) != 0) return fail(errno_error("cannot sync the old bytes of " + path));
        // The file replaced goes to the trash, not away: what else was
        // written to it during the session (the host's own edit, after the
        // agent's) is kept there too (a red-team finding).
        if (::renameat2(w->dir.get(), tmp.c_str(), w->dir.get(), w->base.c_str(), RENAME_EXCHANGE) == 0) {
            mark_written(path);
            if (auto st = move_to_trash_at(w->dir.get(), tmp, path); !st)
                return Error{st.error().code, "old bytes put back at " + path + "; the file they replaced is kept as " +
                                                  tmp + " beside it: " + st.error().message};
            return {};
        }
        if (errno != ENOENT) return fail(errno_error("cannot put the old bytes back at " + path));
        if (::renameat2(w->dir.get(), tmp.c_str(), w->dir.get(), w->base.c_str(), RENAME_NOREPLACE) != 0)
            return fail(errno_error("cannot put the old bytes back at " + path));
        mark_written(path);
        return {};
    }

    Status rename_back(const json& u) {
        std::string from = text_at(u, "from"), to = text_at(u, "to");
        auto sx = look(from);
        if (!sx) {
            if (!opts.force) return Error{ENOENT, from + " is gone (changed after the session?)"};
        } else if (changed_after_end(*sx) && !opts.force) {
            return Error{EEXIST, from + " was changed after the session"};
        } else {
            // Also when the agent made it during the session: an earlier
            // line (its creation) or the final sweep takes it away from
            // where it was, and every line in between finds it in place.
            SANDBOXD_TRY(make_room(to));
            auto wf = at(from);
            if (!wf) return wf.error();
            auto wt = at_making_parents(to);
            if (!wt) return wt.error();
            if (::renameat2(wf->dir.get(), wf->base.c_str(), wt->dir.get(), wt->base.c_str(), RENAME_NOREPLACE) != 0)
                return errno_error("cannot move " + from + " back to " + to);
            mark(to);
        }
        if (u.contains("replaced")) return restore(u["replaced"]);
        return {};
    }

    Status exchange_back(const json& u) {
        std::string a = text_at(u, "a"), b = text_at(u, "b");
        auto sa = look(a), sb = look(b);
        if (!sa || !sb) return Error{ENOENT, "one of " + a + ", " + b + " is gone"};
        if (!opts.force && (changed_after_end(*sa) || changed_after_end(*sb)))
            return Error{EEXIST, a + " or " + b + " was changed after the session"};
        auto wa = at(a);
        if (!wa) return wa.error();
        auto wb = at(b);
        if (!wb) return wb.error();
        if (::renameat2(wa->dir.get(), wa->base.c_str(), wb->dir.get(), wb->base.c_str(), RENAME_EXCHANGE) != 0)
            return errno_error("cannot swap " + a + " and " + b + " back");
        mark(a);
        mark(b);
        return {};
    }

    Status remove_created(const json& u) {
        std::string path = text_at(u, "path");
        auto sx = look(path);
        if (!sx) return {};  // already gone
        if (!opts.force) {
            uint64_t ino = num(u, "ino");
            if ((ino && sx->stx_ino != ino && !ours(*sx)) || changed_after_end(*sx))
                return Error{EEXIST, path + " is not what the agent created (changed after the session)"};
            if (S_ISDIR(sx->stx_mode) && !all_born_in_session(path))
                return Error{ENOTEMPTY, path + " holds files that were not made during the session"};
        }
        // A name the agent gave a file that has another: only the name
        // goes (kept in the store, it would leave the file one link more).
        if (text_at(u, "type") == "link" && !S_ISDIR(sx->stx_mode) && sx->stx_nlink > 1) {
            auto w = at(path);
            if (!w) return w.error();
            if (::unlinkat(w->dir.get(), w->base.c_str(), 0) != 0) return errno_error("cannot remove " + path);
            // Its ctime moved with the removal: the file's other new names
            // are not changed after the session for that (in this run only:
            // a later one checks the file afresh).
            unlinked_from.insert(key_of(*sx));
            return {};
        }
        return move_to_trash(path);
    }

    // chmod/chown undone: the old mode and owner back on the same object.
    // The object a metadata undo record is about, pinned by an O_PATH
    // descriptor: still the one the agent changed, and unchanged since.
    Result<UniqueFd> pin_unchanged(const json& u, const std::string& path, struct statx& sx_out) {
        auto sx = look(path);
        if (!sx) return Error{ENOENT, path + " is gone"};
        if (!opts.force && ((num(u, "ino") && sx->stx_ino != num(u, "ino") && !ours(*sx)) || changed_after_end(*sx)))
            return Error{EEXIST, path + " was changed after the session (or replaced by another file)"};
        sx_out = *sx;
        auto w = at(path);
        if (!w) return w.error();
        return open_at(w->dir.get(), w->base, O_PATH | O_NOFOLLOW);
    }

    Status meta_back(const json& u) {
        std::string path = text_at(u, "path");
        struct statx sx{};
        auto obj = pin_unchanged(u, path, sx);
        if (!obj) return obj.error();
        if (::fchownat(obj->get(), "", uid_t(num(u, "uid")), gid_t(num(u, "gid")), AT_EMPTY_PATH) != 0)
            return errno_error("cannot restore the owner of " + path);
        if (!S_ISLNK(sx.stx_mode) && ::chmod(fd_path(obj->get()).c_str(), mode_t(num(u, "mode"))) != 0)
            return errno_error("cannot restore the mode of " + path);
        if (u.contains("xattrs")) {  // file capabilities a chown stripped
            auto fd = open_fd(fd_path(obj->get()), O_RDONLY | O_NONBLOCK);
            if (!fd) return fd.error();
            if (auto st = put_back_kept(fd->get(), u); !st)
                return Error{st.error().code, "restoring " + path + ": " + st.error().message};
        }
        mark(path);
        return {};
    }

    // A file the agent made longer (truncate, ftruncate) cut back to its
    // old length, with its old times.
    Status resize_back(const json& u) {
        std::string path = text_at(u, "path");
        struct statx sx{};
        auto obj = pin_unchanged(u, path, sx);
        if (!obj) return obj.error();
        if (!S_ISREG(sx.stx_mode)) return Error{EINVAL, path + " is no longer a regular file"};
        auto fd = open_fd(fd_path(obj->get()), O_WRONLY | O_NONBLOCK);  // the pinned object itself
        if (!fd) return fd.error();
        if (::ftruncate(fd->get(), off_t(num(u, "size"))) != 0) return errno_error("cannot cut " + path + " back");
        const json& meta = u.contains("meta") ? u["meta"] : json::object();
        // What the truncation stripped: the set-id bits and capabilities.
        if (meta.contains("mode") && ::fchmod(fd->get(), mode_t(num(meta, "mode"))) != 0)
            return errno_error("cannot restore the mode of " + path);
        if (auto st = put_back_kept(fd->get(), meta); !st)
            return Error{st.error().code, "restoring " + path + ": " + st.error().message};
        timespec t[2] = {to_timespec(num(meta, "atime_ns")), to_timespec(num(meta, "mtime_ns"))};
        if (::futimens(fd->get(), t) != 0) return errno_error("cannot restore the times of " + path);
        mark(path);
        return {};
    }

    Status xattr_back(const json& u) {
        std::string path = text_at(u, "path"), name = text_at(u, "name");
        struct statx sx{};
        auto obj = pin_unchanged(u, path, sx);
        if (!obj) return obj.error();
        std::string via = fd_path(obj->get());  // lands on the object itself
        if (u.contains("value_hex")) {
            auto value = from_hex(text_at(u, "value_hex"));
            if (!value) return plain_error("undo record for " + path + " has a malformed xattr value");
            if (::setxattr(via.c_str(), name.c_str(), value->data(), value->size(), 0) != 0)
                return errno_error("cannot restore xattr " + name + " of " + path);
        } else if (::removexattr(via.c_str(), name.c_str()) != 0 && errno != ENODATA) {
            return errno_error("cannot remove xattr " + name + " of " + path);
        }
        // After the attribute: an access ACL set or removed rewrites the
        // mode, which the record keeps as it was.
        if (u.contains("mode") && u["mode"].is_number_unsigned() && !S_ISLNK(sx.stx_mode) &&
            ::chmod(via.c_str(), mode_t(u["mode"].get<uint64_t>() & 07777)) != 0)
            return errno_error("cannot restore the mode of " + path);
        mark(path);
        return {};
    }

    // A restore whose object was born after the point rolled back to
    // (the session's start, or the --to line) and whose snapshot was
    // dropped to make room: it did not exist then, so there is nothing to
    // bring back.
    bool born_after_point(const json& r) const {
        return r.contains("born_usec") && r["born_usec"].is_number_integer() && r["born_usec"].get<int64_t>() >= 0 &&
               uint64_t(r["born_usec"].get<int64_t>()) >= from_usec;
    }
    bool needs_nothing(const json& u) const {
        return text_at(u, "op") == "restore" && born_after_point(u) && !moved_by_earlier_line(text_at(u, "path"));
    }
    // Such an object is brought back all the same where an earlier line
    // still to be undone moves what is at its path (a rename over it,
    // undone: git's index.lock renamed over index twice needs the first
    // new index back in place); its own line, or the sweep, takes it away
    // after. By a hash of the path, the line's lowest seq: a collision
    // only brings back what needed nothing.
    std::unordered_map<uint64_t, uint64_t> first_mover;
    uint64_t current_seq = 0;  // of the line being undone
    static uint64_t path_hash(std::string_view p) {
        uint64_t h = 1469598103934665603ull;
        for (unsigned char c : p) h = (h ^ c) * 1099511628211ull;
        return h;
    }
    bool moved_by_earlier_line(const std::string& path) const {
        auto it = first_mover.find(path_hash(path));
        return it != first_mover.end() && it->second < current_seq;
    }
    // Paths of objects not there at the point (restore() skipped them): a
    // change the agent made to one before removing it (a chmod) has
    // nothing to be undone on, once nothing is at the path.
    std::set<std::string> absent_at_point;
    bool changes_what_is_gone(const json& u) {
        std::string op = text_at(u, "op"), path = text_at(u, "path");
        return (op == "meta" || op == "xattr" || op == "resize") && absent_at_point.count(path) && !look(path);
    }
    // Directories the agent made after the point and removed (restore()
    // skips them), newest removal first.
    std::vector<std::string> unmade_dirs;
    // One of them that this rollback had to make all the same, on the way
    // to something it put back inside (at_making_parents): taken away
    // again once empty, deepest first (removed first, so listed last).
    void drop_unmade_dirs() {
        for (auto it = unmade_dirs.rbegin(); it != unmade_dirs.rend(); ++it) {
            auto sx = look(*it);
            if (!sx || !S_ISDIR(sx->stx_mode) || !ours(*sx)) continue;
            if (auto w = at(*it)) (void)::unlinkat(w->dir.get(), w->base.c_str(), AT_REMOVEDIR);  // ENOTEMPTY: stays
        }
    }

    Status apply(const json& u) {
        std::string op = text_at(u, "op");
        // Every path an undo record names is absolute: a relative one would
        // be taken from wherever rollback runs.
        for (const char* key : {"path", "from", "to", "a", "b"})
            if (u.contains(key) && !text_at(u, key).starts_with("/"))
                return plain_error(std::string("undo record has a ") + key + " that is not an absolute path: " +
                                   text_at(u, key));
        if (op == "meta") return meta_back(u);
        if (op == "xattr") return xattr_back(u);
        if (op == "resize") return resize_back(u);
        if (op == "restore") return restore(u);
        if (op == "rename") return rename_back(u);
        if (op == "exchange") return exchange_back(u);
        if (op == "remove") return remove_created(u);
        return plain_error("unknown undo operation '" + op + "'");
    }

    // What no journal line accounts for: files the agent created without
    // O_TRUNC (O_EXCL creates, mkstemp) in its write trees. Anything born
    // between `since_usec` and the session's end that is still there is
    // the agent's (or, rarely, a concurrent outsider's: moved aside, not
    // deleted, and listed). Whole directories go at once.
    void sweep(const std::string& dir, uint64_t since_usec, std::vector<std::string>& taken, bool dry) {
        UniqueFd fd = open_dir_strictly(dir);
        if (fd) sweep_at(fd.get(), dir, since_usec, taken, dry, 0);
        else if (errno == ELOOP) sweep_problems.push_back(dir + ": a symbolic link lies on the way, not followed");
    }
    // `dir` names the directory open at `dirfd`, for the report only: it
    // may be longer than PATH_MAX.
    void sweep_at(int dirfd, const std::string& dir, uint64_t since_usec, std::vector<std::string>& taken, bool dry,
                  int depth) {
        if (depth > kMaxDepth) {
            sweep_problems.push_back(dir + ": deeper than " + std::to_string(kMaxDepth) + " directories, not looked into");
            return;
        }
        for_each_entry(dirfd, [&](const std::string& n) {
            std::string p = dir == "/" ? "/" + n : dir + "/" + n;
            if (store_parents.count(p) || under(p, trash) || under(trash, p)) return true;  // the stores themselves
            struct statx sx{};
            if (::statx(dirfd, n.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) return true;
            uint64_t born = (sx.stx_mask & STATX_BTIME) ? usec(sx.stx_btime) : 0;
            // Birth time, and not what a rollback put there: what it moved
            // back keeps its own birth time, and what it wrote anew
            // (restored copies, directories) is born after the session's
            // end, or before it: by this rollback of a frozen session
            // (`written`), or by one run before the session ended
            // (`earlier`).
            bool made = (born >= since_usec && born <= end_usec && !not_the_agents(sx)) || agents_brought_back(sx);
            // Born within a tick of the filesystem's clock before the
            // point, which stamps births with the time of its last tick:
            // made just before the point or just after, no one can say.
            // Left, and said.
            if (!made && unsure_from && born >= unsure_from && born < since_usec && !not_the_agents(sx) && !ours(sx) &&
                !changed_after_end(sx))
                sweep_unsure.push_back(p);
            if (S_ISDIR(sx.stx_mode)) {
                UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!sub) {
                    // (EMFILE: one descriptor a level, deeper than the limit.)
                    if (errno != ENOENT) sweep_problems.push_back(p + ": " + std::strerror(errno) + ", not looked into");
                    return true;
                }
                if (!made || !all_born_in_session_at(sub.get(), 0)) {
                    sweep_at(sub.get(), p, since_usec, taken, dry, depth + 1);
                    return true;
                }
            }
            if (!made) return true;
            // The user's since (edited after the session): left in place,
            // a conflict, as for an undo step.
            if (changed_after_end(sx)) {
                sweep_conflicts.push_back(p);
                return true;
            }
            taken.push_back(p);
            if (!dry) {
                if (auto st = move_to_trash_at(dirfd, n, p); !st) sweep_problems.push_back(p + ": " + st.error().describe());
            }
            return true;
        });
    }
    std::vector<std::string> sweep_problems;
    std::vector<std::string> sweep_conflicts;  // made by the agent, changed after the session
    uint64_t unsure_from = 0;                  // `--to`: a tick before the point (see sweep_at)
    std::vector<std::string> sweep_unsure;

    void finish() {
        // Directory times last: restoring their contents changed them.
        for (auto it = dir_times.rbegin(); it != dir_times.rend(); ++it) {
            auto w = at(it->first);
            if (!w) continue;
            auto fd = open_at(w->dir.get(), w->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (!fd) continue;
            timespec t[2] = {to_timespec(num(it->second, "atime_ns")), to_timespec(num(it->second, "mtime_ns"))};
            (void)::futimens(fd->get(), t);
        }
    }
};

// "2026-11-25T17:20:26.526623Z" -> microseconds since the epoch; 0 if malformed.
uint64_t parse_time_usec(const std::string& t) {
    struct tm tm{};
    unsigned usec = 0;
    if (t.size() != 27 || !::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) || std::sscanf(t.c_str() + 20, "%6u", &usec) != 1)
        return 0;
    return uint64_t(::timegm(&tm)) * 1000000 + usec;
}

std::string describe(const json& u) {
    std::string op = text_at(u, "op");
    if (op == "restore") {
        std::string how = text_at(u, "how");
        if (how == "mkdir") return "recreate directory " + text_at(u, "path");
        if (how == "symlink") return "recreate symlink " + text_at(u, "path");
        return "restore " + text_at(u, "path") + " from snapshot " + last_component(text_at(u, "snapshot")) +
               (how == "copy" ? " (old bytes)" : "");
    }
    if (op == "rename") {
        std::string s = "move " + text_at(u, "from") + " back to " + text_at(u, "to");
        if (u.contains("replaced")) s += ", then restore " + text_at(u["replaced"], "path");
        return s;
    }
    if (op == "exchange") return "swap " + text_at(u, "a") + " and " + text_at(u, "b") + " back";
    if (op == "remove") return "remove " + text_at(u, "type") + " " + text_at(u, "path") + " (made by the agent)";
    if (op == "meta") return "restore mode and owner of " + text_at(u, "path");
    if (op == "xattr") return "restore xattr " + text_at(u, "name") + " of " + text_at(u, "path");
    if (op == "resize") return "cut " + text_at(u, "path") + " back to its old length";
    return "unknown undo operation '" + op + "'";
}

bool touches(const json& u, const std::string& top) {
    for (const char* k : {"path", "from", "to", "a", "b"})
        if (under(text_at(u, k), top)) return true;
    return u.contains("replaced") && touches(u["replaced"], top);
}

}  // namespace

namespace {

// Every "snapshot" an undo record names, also nested ones (a rename's
// "replaced").
void collect_snapshots(const json& u, std::set<std::string>& out) {
    if (!u.is_object()) return;
    for (const auto& [key, value] : u.items()) {
        if (key == "snapshot") {
            if (auto path = text_value(value); !path.empty()) out.insert(path);
        } else if (value.is_object()) {
            collect_snapshots(value, out);
        }
    }
}

// A store this session's journal may name: its own directory's, or one
// at another mount's root for this session id. Anything else (a tampered
// journal) is not looked into.
bool is_own_store(const std::string& journal_path, const std::string& store) {
    std::string session_dir = parent_path(journal_path);
    return store == session_dir + "/snapshots" ||
           (store.starts_with('/') && store.ends_with("/.sandboxd-snapshots/" + last_component(session_dir)) &&
            store.find("/../") == std::string::npos && store.find("/./") == std::string::npos);
}

// The objects in a store's numbered subdirectories that no line names and
// that were not dropped to make room: path -> "file, 123 bytes".
std::vector<std::pair<std::string, std::string>> unnamed_in_store(const std::string& store,
                                                                   const std::set<std::string>& named,
                                                                   const std::set<std::string>& dropped) {
    std::vector<std::pair<std::string, std::string>> out;
    auto entries = [](const std::string& dir) {
        std::vector<std::string> names;
        if (DIR* d = ::opendir(dir.c_str())) {
            while (dirent* e = ::readdir(d)) {
                std::string n = e->d_name;
                if (n != "." && n != "..") names.push_back(n);
            }
            ::closedir(d);
        }
        std::sort(names.begin(), names.end());
        return names;
    };
    for (const auto& shard : entries(store)) {
        if (shard.find_first_not_of("0123456789") != std::string::npos) continue;  // "rolled-back"
        for (const auto& name : entries(store + "/" + shard)) {
            std::string path = store + "/" + shard + "/" + name;
            if (named.count(path) || dropped.count(path)) continue;
            struct stat st{};
            if (::lstat(path.c_str(), &st) != 0) continue;
            out.emplace_back(path, std::string(S_ISDIR(st.st_mode) ? "directory" : S_ISLNK(st.st_mode) ? "symlink"
                                                                                                 : "file") +
                                       ", " + std::to_string(st.st_size) + " bytes");
        }
    }
    return out;
}

}  // namespace

RollbackReport rollback_session(const std::string& journal_path, const RollbackOptions& opts, Journal* log) {
    RollbackReport rep;
    // What rollback reads of a journal: the lines that undo something, and
    // those of the session's and earlier rollbacks' own course. Every
    // other line is checked and let go (a flood of refusals or reads). An
    // undo line to be carried out is held as its place in the file, read
    // again when its turn comes: a million of them held whole took 4 GB
    // (16 GB at the journal's 2 GiB limit; a red-team finding). What the
    // lines say of snapshots is gathered on the way.
    std::set<std::string> referenced;  // every snapshot a line names
    std::set<std::string> dropped;     // snapshots the gate dropped to make room
    std::set<uint64_t> undone;         // lines an earlier rollback undid
    std::unordered_map<uint64_t, uint64_t> first_mover;  // see Applier::first_mover
    auto note_mover = [&](const json& u, uint64_t seq) {
        std::string op = text_at(u, "op");
        std::vector<std::string> paths;
        if (op == "rename") paths = {text_at(u, "from")};
        if (op == "exchange") paths = {text_at(u, "a"), text_at(u, "b")};
        for (const auto& p : paths) {
            auto [at, added] = first_mover.try_emplace(Applier::path_hash(p), seq);
            if (!added) at->second = std::min(at->second, seq);
        }
    };
    // `--to`: files whose first line after the point is an open for
    // writing with the old bytes kept earlier (before it): their bytes at
    // the point were never kept. Path -> that line; the first line seen
    // after the point for each path decides (a snapshot first: exact).
    std::map<std::string, std::optional<uint64_t>> first_after_point;
    auto note_after_point = [&](const json& l, uint64_t seq) {
        if (!opts.to_seq || seq <= *opts.to_seq) return;
        std::string action = text_at(l, "action");
        bool undoes = l.contains("undo") && l["undo"].is_object();
        if (action == "file.open-write" && !undoes) {
            first_after_point.try_emplace(text_at(l, "target"), seq);
        } else if (undoes && text_at(l["undo"], "op") == "restore") {
            first_after_point.try_emplace(text_at(l["undo"], "path"), std::nullopt);
        }
    };
    auto needed = [&](json& l) {
        std::string action = text_at(l, "action");
        static const json kNone = json::object();
        const json& d = l.contains("detail") && l["detail"].is_object() ? l["detail"] : kNone;
        if (d.contains("dropped_snapshots") && d["dropped_snapshots"].is_array())
            for (const auto& p : d["dropped_snapshots"])
                if (auto path = text_value(p); !path.empty()) dropped.insert(path);
        bool undoes = l.contains("undo") && l["undo"].is_object();
        if (undoes) collect_snapshots(l["undo"], referenced);
        if (action == "rollback.undo") {
            if (text_at(d, "status") == "done") undone.insert(num(d, "seq"));
            return false;
        }
        uint64_t seq = l["seq"].get<uint64_t>();
        note_after_point(l, seq);
        if (action.starts_with("session.") || action.starts_with("rollback.") || action == "journal.torn") return true;
        if (opts.to_seq && seq == *opts.to_seq) return true;  // its time is the point rolled back to
        if (!undoes || (opts.to_seq && seq <= *opts.to_seq) || (opts.path && !touches(l["undo"], *opts.path)))
            return false;
        note_mover(l["undo"], seq);
        l = nullptr;  // a step: read again by its offset
        return true;
    };
    auto scanned = scan_journal_file(journal_path, needed);
    if (!scanned) {
        rep.problems.push_back(scanned.error().describe());
        return rep;
    }
    JournalScan& scan = *scanned;
    for (auto& p : scan.problems) rep.problems.push_back("journal " + p);
    auto lost = [&rep](uint64_t seq, std::string what) {
        RollbackStep step;
        step.seq = seq;
        step.what = std::move(what);
        step.status = "lost";
        step.detail = "the supervisor stopped while writing this line; a snapshot only it named is an orphan below";
        rep.steps.push_back(std::move(step));
    };
    if (!scan.torn_tail.empty()) lost(0, "journal " + scan.torn_tail);
    for (const auto& l : scan.lines)
        if (!l.value.is_null() && text_at(l.value, "action") == "journal.torn") {
            std::string fragment = l.value.contains("detail") ? text_at(l.value["detail"], "fragment") : std::string();
            if (fragment.size() > 240) fragment = fragment.substr(0, 240) + "...";
            lost(l.value["seq"].get<uint64_t>(), "journal line torn by a crash: " + fragment);
        }
    // The steps, read again from here as their turn comes.
    UniqueFd journal_fd(::open(journal_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!journal_fd) {
        rep.problems.push_back(errno_error("cannot open " + journal_path).describe());
        return rep;
    }
    // With part of the record unreadable, no step can be sure of its place
    // in the order: plan, report, change nothing.
    bool dry = opts.dry_run || !rep.problems.empty();

    Applier a{opts};
    // The agent's last change: the end of its last frozen spell (if it was
    // never thawed again; ended or not), else its end, else now. An edit
    // made by hand while it was frozen is then someone else's: a conflict,
    // never written over.
    uint64_t ended_usec = 0, quiesced_usec = 0;
    std::vector<const JournalLine*> todo;
    std::vector<std::string> write_trees;
    std::vector<std::string> stores;
    uint64_t to_time_usec = 0;
    a.dropped = std::move(dropped);
    a.first_mover = std::move(first_mover);
    for (const auto& line : scan.lines) {
        if (line.value.is_null()) {
            todo.push_back(&line);
            continue;
        }
        const json& l = line.value;
        std::string action = text_at(l, "action");
        const json& d = l.contains("detail") ? l["detail"] : json::object();
        if (opts.to_seq && l["seq"].get<uint64_t>() == *opts.to_seq) to_time_usec = parse_time_usec(text_at(l, "time"));
        if (action == "session.start") {
            a.start_usec = num(d, "started_usec");
            if (d.contains("write_trees") && d["write_trees"].is_array())
                for (const auto& w : d["write_trees"])
                    if (auto tree = text_value(w); tree.starts_with('/')) write_trees.push_back(tree);
        }
        else if (action == "session.end" && num(d, "ended_usec")) ended_usec = num(d, "ended_usec");
        else if (action == "session.thaw" || action == "session.resumed") quiesced_usec = 0;
        else if (action == "session.quiesced" && num(d, "quiesced_usec")) quiesced_usec = num(d, "quiesced_usec");
        // Objects an earlier rollback put in place are not "changed by
        // someone else" for this one.
        // Of those, the ones it wrote anew (born then) are never the
        // agent's to sweep; what it moved back keeps its birth time and is
        // the agent's again where its record said so (a `--to` followed by
        // a full rollback: what the first brought back, the second takes
        // away). A journal from before "written" was kept: all of them.
        else if (action == "rollback.done") {
            auto each = [&](const char* key, auto&& f) {
                if (!d.contains(key) || !d[key].is_array()) return;
                for (const auto& p : d[key])
                    if (p.is_array() && p.size() == 2 && p[0].is_number_unsigned() && p[1].is_number_unsigned())
                        f(std::pair<dev_t, ino_t>{dev_t(p[0].get<uint64_t>()), ino_t(p[1].get<uint64_t>())});
            };
            bool split = d.contains("written");
            each("produced", [&](auto k) {
                a.produced.insert(k);
                if (!split) a.earlier.insert(k);
            });
            each("written", [&](auto k) { a.earlier.insert(k); });
            each("not_made", [&](auto k) { a.not_made.insert(k); });
        }
        if (action == "session.start" && d.contains("snapshot_stores") && d["snapshot_stores"].is_array())
            for (const auto& p : d["snapshot_stores"])
                if (auto store = text_value(p); is_own_store(journal_path, store)) stores.push_back(store);
    }
    a.end_usec = quiesced_usec ? quiesced_usec : ended_usec ? ended_usec : uint64_t(realtime_usec());
    a.trash = parent_path(journal_path) + "/snapshots/rolled-back";
    a.session_id = last_component(parent_path(journal_path));
    for (const auto& store : stores) {
        a.store_parents.insert(parent_path(store));
        auto fd = open_store(store);
        if (!fd && fd.error().code == ENOENT) {
            a.gone_stores.insert(store);
            continue;
        }
        if (!fd) {
            a.refused_stores.emplace(store, fd.error().describe());
            continue;
        }
        struct stat st{};
        if (::fstat(fd->get(), &st) == 0) a.trash_on.try_emplace(st.st_dev, store + "/rolled-back");
        a.store_fds.emplace(store, std::move(*fd));
    }
    a.from_usec = opts.to_seq ? to_time_usec : a.start_usec;

    for (auto it = todo.rbegin(); it != todo.rend(); ++it) {
        std::string text((*it)->size, '\0');
        std::optional<json> read;
        if (::pread(journal_fd.get(), text.data(), text.size(), off_t((*it)->offset)) == ssize_t(text.size()))
            read = parse_journal_line(text);
        if (!read || !read->contains("undo") || !(*read)["undo"].is_object()) {
            RollbackStep step;
            step.what = "line " + std::to_string((*it)->line_no) + " of the journal";
            step.status = "error";
            step.detail = "it changed since it was read (the journal was rewritten?)";
            ++rep.errors;
            rep.steps.push_back(std::move(step));
            continue;
        }
        const json& l = *read;
        RollbackStep step;
        step.seq = l["seq"].get<uint64_t>();
        step.what = describe(l["undo"]);
        a.current_seq = step.seq;
        if (undone.count(step.seq)) {
            step.status = "skipped";
            step.detail = "undone by an earlier rollback";
        } else if (a.needs_nothing(l["undo"])) {
            step.status = "skipped";
            bool dir = text_at(l["undo"], "how") == "mkdir";
            step.detail = std::string(dir ? "a directory" : "an object") +
                          " the agent made after the point rolled back to: not there then";
            if (dir) a.unmade_dirs.push_back(text_at(l["undo"], "path"));
            a.absent_at_point.insert(text_at(l["undo"], "path"));
        } else if (a.changes_what_is_gone(l["undo"])) {
            step.status = "skipped";
            step.detail = "the agent made the object after the point rolled back to and removed it again";
        } else if (dry) {
            step.status = "planned";
        } else if (auto st = a.apply(l["undo"]); st) {
            step.status = "done";
            ++rep.done;
            for (const auto& d : a.recreated)
                step.detail += (step.detail.empty() ? "recreated directory " : ", ") + d + " (its line is missing)";
        } else {
            bool conflict = st.error().code == EEXIST || st.error().code == ENOTEMPTY;
            step.status = conflict ? "conflict" : "error";
            step.detail = st.error().describe();
            ++(conflict ? rep.conflicts : rep.errors);
        }
        a.recreated.clear();
        if (!dry && log && step.status != "skipped") {
            JournalEntry e = sandboxctl_entry("rollback.undo", step.what, step.status == "done" ? "allow" : "deny", "rollback");
            e.detail = {{"seq", step.seq}, {"status", step.status}, {"reason", step.detail}};
            (void)log->append(e);
        }
        rep.steps.push_back(std::move(step));
    }
    if (!dry) a.drop_unmade_dirs();
    // Last, what the agent created that no line undoes. From the session's
    // start, or from the --to line's time; within --path when given.
    uint64_t from = a.from_usec;
    if (opts.to_seq && from) {
        timespec tick{};
        uint64_t tick_usec = ::clock_getres(CLOCK_REALTIME_COARSE, &tick) == 0
                                 ? uint64_t(tick.tv_sec) * 1000000 + uint64_t(tick.tv_nsec) / 1000
                                 : 10000;
        a.unsure_from = from > tick_usec ? from - tick_usec : 1;
    }
    if (from && !write_trees.empty()) {
        std::vector<std::string> taken;
        for (const auto& w : write_trees) {
            std::string top = w;
            if (opts.path) {
                if (under(*opts.path, w)) top = *opts.path;
                else if (!under(w, *opts.path)) continue;
            }
            a.sweep(top, from, taken, dry);
        }
        for (const auto& p : taken) {
            RollbackStep step;
            step.what = "remove " + p + " (made during the session, no journal line)";
            step.status = dry ? "planned" : "done";
            if (!dry) ++rep.done;
            rep.steps.push_back(std::move(step));
        }
        for (const auto& p : a.sweep_conflicts) {
            RollbackStep step;
            step.what = "remove " + p + " (made during the session, no journal line)";
            step.status = "conflict";
            step.detail = p + " was changed after the session: left in place";
            ++rep.conflicts;
            rep.steps.push_back(std::move(step));
        }
        for (const auto& p : a.sweep_unsure) {
            RollbackStep step;
            step.what = "remove " + p + " (made during the session, no journal line)";
            step.status = "conflict";
            step.detail = p + " was made within a tick of the filesystem's clock of the point: before it or after, "
                          "its birth time cannot tell; left in place";
            ++rep.conflicts;
            rep.steps.push_back(std::move(step));
        }
        for (const auto& p : a.sweep_problems) {
            RollbackStep step;
            step.what = "remove what the session made under " + p;
            step.status = "error";
            step.detail = p;
            ++rep.errors;
            rep.steps.push_back(std::move(step));
        }
    }
    // What `--to` could not bring back as it was at the point: said, and
    // left as the rest of the rollback made it.
    for (const auto& [path, rewrite] : first_after_point) {
        if (!rewrite || (opts.path && !under(path, *opts.path))) continue;
        RollbackStep step;
        step.seq = *rewrite;
        step.what = "bring back " + path + " as it was at the point";
        step.status = "conflict";
        step.detail = "written again after the point (line " + std::to_string(*rewrite) +
                      ") with its old bytes kept only from before the point: its bytes at the point were never kept";
        ++rep.conflicts;
        rep.steps.push_back(std::move(step));
    }
    for (const auto& store : stores)
        for (auto& [path, what] : a.store_fds.count(store) ? unnamed_in_store(store, referenced, a.dropped)
                                                           : std::vector<std::pair<std::string, std::string>>{}) {
            RollbackStep step;
            step.what = "keep " + path + " (" + what + ")";
            step.status = "orphan";
            step.detail = "no journal line names it: the supervisor stopped between keeping it and journaling "
                          "the operation, so where it came from is unknown; it stays in the store";
            ++rep.orphans;
            rep.steps.push_back(std::move(step));
        }
    if (!dry) {
        a.finish();
        if (log) {
            JournalEntry e = sandboxctl_entry("rollback.done", journal_path, "info", "rollback");
            auto listed = [](const std::set<std::pair<dev_t, ino_t>>& keys) {
                json out = json::array();
                for (const auto& [dev, ino] : keys) out.push_back({uint64_t(dev), uint64_t(ino)});
                return out;
            };
            e.detail = {{"done", rep.done},
                        {"conflicts", rep.conflicts},
                        {"errors", rep.errors},
                        {"produced", listed(a.produced)},
                        {"written", listed(a.written)},
                        {"not_made", listed(a.not_made)}};
            (void)log->append(e);
        }
    }
    return rep;
}

}  // namespace sandboxd
