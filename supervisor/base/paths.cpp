#include "base/paths.h"

#include <linux/limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>

#include <vector>

namespace sandboxd {

std::string normalize_path(std::string_view absolute) {
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i < absolute.size()) {
        while (i < absolute.size() && absolute[i] == '/') ++i;
        size_t j = absolute.find('/', i);
        if (j == std::string_view::npos) j = absolute.size();
        std::string_view part = absolute.substr(i, j - i);
        if (part.empty() || part == ".") {
        } else if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else {
            parts.push_back(part);
        }
        i = j;
    }
    std::string out;
    for (auto p : parts) {
        out += '/';
        out += p;
    }
    return out.empty() ? "/" : out;
}

bool path_is_under(std::string_view child, std::string_view parent) {
    if (parent == "/") return true;
    if (child.substr(0, parent.size()) != parent) return false;
    return child.size() == parent.size() || child[parent.size()] == '/';
}

void push_front_components(std::deque<std::string>& todo, std::string_view path) {
    std::deque<std::string> parts;
    size_t i = 0;
    while (i < path.size()) {
        size_t slash = path.find('/', i);
        if (slash == std::string_view::npos) slash = path.size();
        if (slash > i) parts.emplace_back(path.substr(i, slash - i));
        i = slash + 1;
    }
    todo.insert(todo.begin(), parts.begin(), parts.end());
}

std::string parent_path(std::string_view path) {
    size_t slash = path.find_last_of('/');
    return slash == 0 || slash == std::string_view::npos ? "/" : std::string(path.substr(0, slash));
}

std::string last_component(std::string_view path) { return std::string(path.substr(path.find_last_of('/') + 1)); }

std::string join_path(std::string_view dir, std::string_view name) {
    if (name.empty()) return std::string(dir);
    return (dir == "/" ? std::string() : std::string(dir)) + "/" + std::string(name);
}

std::string with_real_directories(const std::string& path) {
    std::string dir = path, rest;
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos || slash == 0) return path;
    rest = path.substr(slash);
    dir = path.substr(0, slash);
    while (!dir.empty()) {
        char real[PATH_MAX];
        if (::realpath(dir.c_str(), real)) return normalize_path(std::string(real) + rest);
        size_t up = dir.find_last_of('/');
        if (up == std::string::npos) break;
        rest = dir.substr(up) + rest;
        dir = dir.substr(0, up);
    }
    return path;
}

Result<std::string> logical_cwd() {
    if (const char* pwd = std::getenv("PWD"); pwd && *pwd) {
        struct stat here{}, there{};
        if (pwd[0] == '/' && normalize_path(pwd) == pwd && ::stat(".", &here) == 0 && ::stat(pwd, &there) == 0 &&
            here.st_dev == there.st_dev && here.st_ino == there.st_ino)
            return std::string(pwd);
        // A launcher changed the directory and left $PWD (subprocess's
        // cwd=, make -C): how it was reached is unknown, and getcwd()
        // would show only where any link on the way led.
        return Error{EINVAL, "the working directory is not $PWD (" + std::string(pwd) +
                                 "): how it was reached is unknown; name it with an absolute path"};
    }
    char buf[PATH_MAX];
    if (!::getcwd(buf, sizeof buf)) return errno_error("cannot find the working directory");
    return std::string(buf);
}

}  // namespace sandboxd
