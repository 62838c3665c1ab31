#include "mounts/aliases.h"

#include <sys/stat.h>

#include <sstream>

#include "base/file_io.h"
#include "base/paths.h"

namespace sandboxd {
namespace {

// mountinfo writes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            bool octal = true;
            for (size_t k = 1; k <= 3; ++k) octal = octal && s[i + k] >= '0' && s[i + k] <= '7';
            if (octal) {
                out += char((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        // id parent major:minor root point ...
        std::istringstream fields(line);
        std::string id, parent, dev, root, point;
        if (!(fields >> id >> parent >> dev >> root >> point)) continue;
        out.push_back({dev, unescape(root), unescape(point)});
    }
    return out;
}

std::vector<std::string> mount_aliases(const std::vector<MountEntry>& mounts, const std::string& path) {
    // The mount `path` is on: the deepest point above it, the last of
    // those stacked there.
    const MountEntry* on = nullptr;
    for (const auto& m : mounts)
        if (path_is_under(path, m.point) && (!on || m.point.size() >= on->point.size())) on = &m;
    std::vector<std::string> out;
    if (!on) return out;
    std::string_view below = std::string_view(path).substr(on->point == "/" ? 1 : on->point.size());
    while (!below.empty() && below.front() == '/') below.remove_prefix(1);
    std::string in_fs = join_path(on->root, below);
    for (const auto& m : mounts) {
        if (&m == on || m.dev != on->dev || !path_is_under(in_fs, m.root)) continue;
        std::string_view rest = std::string_view(in_fs).substr(m.root == "/" ? 1 : m.root.size());
        while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
        std::string alias = join_path(m.point, rest);
        bool dup = alias == path;
        for (const auto& a : out) dup = dup || a == alias;
        if (!dup) out.push_back(alias);
    }
    return out;
}

void hide_under_every_mount(Profile& p) {
    auto text = read_file("/proc/self/mountinfo");
    if (!text) return;
    auto mounts = parse_mountinfo(*text);
    std::vector<PathRule> aliases;
    for (const auto& h : p.hide)
        for (const auto& a : mount_aliases(mounts, with_real_directories(h.path))) {
            PathRule r = h;
            r.path = a;
            r.optional = true;
            struct stat st{};
            r.exists = ::lstat(a.c_str(), &st) == 0;
            aliases.push_back(std::move(r));
        }
    p.hide.insert(p.hide.end(), aliases.begin(), aliases.end());
}

}  // namespace sandboxd
