#include "gate/resolve.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <optional>
#include <string_view>

#include "base/file_io.h"
#include "base/paths.h"

namespace sandboxd {
namespace {

// The kernel's limit on symlinks followed in one lookup.
constexpr int kMaxSymlinks = 40;

bool same_object(int a, int b) {
    struct stat sa{}, sb{};
    return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The common case in one or two calls: where no component is a symbolic
// link and no ".." climbs above where the path starts, the kernel's own
// walk of the directories (openat2 refuses both) reaches what the walk by
// hand below would, one openat, fstat and close a component. nullopt for
// anything else, errors included: the walk by hand then gives the agent's
// exact answer.
std::optional<ResolvedPath> resolve_plainly(int root, int start, std::string_view path, bool follow_final) {
    size_t end = path.find_last_not_of('/');
    if (end == std::string_view::npos) return std::nullopt;  // "/": the walk says what it is
    size_t slash = path.find_last_of('/', end);
    size_t from = slash == std::string_view::npos ? 0 : slash + 1;
    ResolvedPath r;
    r.name = std::string(path.substr(from, end + 1 - from));
    if (r.name == "." || r.name == ".." || r.name.size() > NAME_MAX) return std::nullopt;
    r.trailing_slash = end + 1 < path.size();
    r.borrowed = path.front() == '/' ? root : start;
    if (slash != std::string_view::npos) {
        size_t first = path.find_first_not_of('/');
        if (first < slash) {
            std::string dirs(path.substr(first, slash - first));
            r.opened = open_resolved(r.borrowed, dirs.c_str(), O_PATH | O_DIRECTORY,
                                     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
            if (!r.opened) return std::nullopt;
        }
    }
    if (follow_final) {
        struct stat st{};
        if (::fstatat(r.parent(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? S_ISLNK(st.st_mode) : errno != ENOENT)
            return std::nullopt;
    }
    return r;
}

}  // namespace

Result<ResolvedPath> resolve_for_agent(int root, int start, const std::string& path, bool follow_final) {
    if (path.empty()) return Error{ENOENT, "empty path"};
    if (path.size() >= PATH_MAX) return Error{ENAMETOOLONG, "path too long"};
    if (auto plain = resolve_plainly(root, start, path, follow_final)) return std::move(*plain);
    // `cur` is the directory reached so far: borrowed from the caller until
    // the walk opens one of its own.
    int borrowed = path.front() == '/' ? root : start;
    UniqueFd cur;
    auto at = [&] { return cur ? cur.get() : borrowed; };
    auto result = [&](std::string name, bool slash) {
        ResolvedPath r;
        r.opened = std::move(cur);
        r.borrowed = borrowed;
        r.name = std::move(name);
        r.trailing_slash = slash;
        return r;
    };
    std::deque<std::string> todo;
    push_front_components(todo, path);
    bool trailing_slash = path.back() == '/';
    int links = 0;

    // "/" alone (or a symlink to it): the final object is the root itself.
    auto at_root_itself = [&]() { return result(".", true); };
    if (todo.empty()) return at_root_itself();

    while (!todo.empty()) {
        std::string comp = std::move(todo.front());
        todo.pop_front();
        bool last = todo.empty();
        if (comp == "." || comp == "..") {
            if (last) return result(comp, trailing_slash);
            // ".." never climbs above the agent's root.
            if (comp == ".." && !same_object(at(), root)) {
                UniqueFd up(::openat(at(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!up) return errno_error("cannot resolve ..");
                cur = std::move(up);
            }
            continue;
        }
        if (comp.size() > NAME_MAX) return Error{ENAMETOOLONG, "path component too long"};
        if (last && !follow_final) return result(comp, trailing_slash);

        UniqueFd next(::openat(at(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!next) {
            // A missing final name is for the operation to judge (O_CREAT).
            if (last && errno == ENOENT) return result(comp, trailing_slash);
            return errno_error("cannot resolve " + comp);
        }
        struct stat st{};
        if (::fstat(next.get(), &st) != 0) return errno_error("cannot stat " + comp);
        if (S_ISLNK(st.st_mode)) {
            if (++links > kMaxSymlinks) return Error{ELOOP, "too many symbolic links"};
            char target[PATH_MAX];
            ssize_t n = ::readlinkat(next.get(), "", target, sizeof target - 1);
            if (n < 0) return errno_error("cannot read symbolic link " + comp);
            if (n == 0) return Error{ENOENT, "empty symbolic link"};
            std::string_view t(target, size_t(n));
            if (t.front() == '/') {
                cur.reset();
                borrowed = root;
            }
            if (last && t.back() == '/') trailing_slash = true;
            push_front_components(todo, t);
            if (todo.empty()) return at_root_itself();
            continue;
        }
        if (last) return result(comp, trailing_slash);
        if (!S_ISDIR(st.st_mode)) return Error{ENOTDIR, comp + " is not a directory"};
        cur = std::move(next);
    }
    return at_root_itself();  // unreachable: the loop returns on its last component
}

}  // namespace sandboxd
