#include "base/path_trust.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <deque>

namespace sandboxd {
namespace {

// The components of `path`, in order, for the front of the walk.
void push_components(std::deque<std::string>& todo, const std::string& path) {
    std::deque<std::string> parts;
    size_t i = 0;
    while (i < path.size()) {
        size_t slash = path.find('/', i);
        if (slash == std::string::npos) slash = path.size();
        if (slash > i) parts.push_back(path.substr(i, slash - i));
        i = slash + 1;
    }
    todo.insert(todo.begin(), parts.begin(), parts.end());
}

std::string parent_of(const std::string& dir) {
    size_t slash = dir.find_last_of('/');
    return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

std::string join_name(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace

std::vector<uid_t> trusted_owners(uid_t agent_uid) {
    std::vector<uid_t> out{0, ::getuid(), agent_uid};
    if (const char* sudo = std::getenv("SUDO_UID")) {
        char* end = nullptr;
        unsigned long v = std::strtoul(sudo, &end, 10);
        if (*sudo && end && *end == '\0' && v < UINT_MAX) out.push_back(uid_t(v));
    }
    return out;
}

std::optional<std::string> untrusted_entry(const std::string& path, const std::vector<uid_t>& trusted) {
    std::deque<std::string> todo;
    push_components(todo, path);
    std::string done = "/";  // resolved so far: no symbolic link in it
    int links = 0;
    while (!todo.empty()) {
        std::string name = std::move(todo.front());
        todo.pop_front();
        if (name == ".") continue;
        if (name == "..") {
            done = parent_of(done);
            continue;
        }
        struct stat dir{}, st{};
        std::string here = join_name(done, name);
        if (::lstat(done.c_str(), &dir) != 0 || ::lstat(here.c_str(), &st) != 0) return std::nullopt;
        bool open_to_all = (dir.st_mode & S_ISVTX) && (dir.st_mode & S_IWOTH);
        bool trusted_owner = st.st_uid == dir.st_uid || std::find(trusted.begin(), trusted.end(), st.st_uid) != trusted.end();
        if (open_to_all && !trusted_owner)
            return here + (S_ISLNK(st.st_mode) ? " is a symbolic link" : " is") + " of uid " +
                   std::to_string(st.st_uid) + " in " + done +
                   ", which anyone may write to: its owner decides what the path names";
        if (!S_ISLNK(st.st_mode)) {
            done = here;
            continue;
        }
        if (++links > 40) return std::nullopt;  // ELOOP: the caller's stat says so
        char target[PATH_MAX];
        ssize_t n = ::readlink(here.c_str(), target, sizeof target - 1);
        if (n < 0) return std::nullopt;
        std::string to(target, size_t(n));
        if (!to.empty() && to.front() == '/') done = "/";
        push_components(todo, to);
    }
    return std::nullopt;
}

}  // namespace sandboxd
