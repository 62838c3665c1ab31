#include "profile/scope_check.h"

#include "base/paths.h"

namespace sandboxd {

bool under_existing_tree(const std::string& path, const std::vector<PathRule>& trees) {
    for (const auto& t : trees)
        if (t.exists && path_is_under(path, t.path)) return true;
    return false;
}

std::optional<std::string> would_deny(const Profile& p, FileAccess access, const std::string& path) {
    // Hidden whether it existed or not: the host may make it since.
    for (const auto& h : p.hide)
        if (path_is_under(path, h.path)) return "filesystem.hide";
    switch (access) {
        case FileAccess::Read:
            if (!under_existing_tree(path, p.read) && !under_existing_tree(path, p.write) &&
                !under_existing_tree(path, p.exec_allow))
                return "filesystem.read: outside every read tree";
            return std::nullopt;
        case FileAccess::Exec:
            if (!under_existing_tree(path, p.exec_allow)) return "exec.allow: outside every exec tree";
            return std::nullopt;
        case FileAccess::Write:
        case FileAccess::Destroy:
            if (under_existing_tree(path, p.protect)) return "filesystem.protect";
            if (!under_existing_tree(path, p.write)) return "filesystem.write: outside every write tree";
            if (access == FileAccess::Destroy && !under_existing_tree(path, p.destroy))
                return "filesystem.destroy: outside every destroy tree";
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace sandboxd
