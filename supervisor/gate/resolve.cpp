#include "gate/resolve.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <sys/stat.h>

#include <deque>
#include <string_view>

#include "base/paths.h"

namespace sandboxd {
namespace {

// The kernel's limit on symlinks followed in one lookup.
constexpr int kMaxSymlinks = 40;

bool same_object(int a, int b) {
    struct stat sa{}, sb{};
    return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

Result<ResolvedPath> resolve_for_agent(int root, int start, const std::string& path, bool follow_final) {
    if (path.empty()) return Error{ENOENT, "empty path"};
    if (path.size() >= PATH_MAX) return Error{ENAMETOOLONG, "path too long"};
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
