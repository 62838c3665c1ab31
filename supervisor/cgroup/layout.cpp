#include "cgroup/layout.h"

#include <sstream>
#include <vector>

#include "base/file_io.h"

namespace sandboxd {
namespace {

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t e = s.find(sep, start);
        if (e == std::string_view::npos) e = s.size();
        out.emplace_back(s.substr(start, e - start));
        start = e + 1;
    }
    return out;
}

}  // namespace

Result<CgroupHost> parse_cgroup_mounts(std::string_view mountinfo) {
    CgroupHost host;
    std::istringstream in{std::string(mountinfo)};
    std::string line;
    while (std::getline(in, line)) {
        // id parent major:minor root mountpoint opts [optional...] - fstype source superopts
        auto fields = split(line, ' ');
        size_t dash = 0;
        while (dash < fields.size() && fields[dash] != "-") ++dash;
        if (dash < 5 || dash + 3 > fields.size()) continue;
        const std::string& mountpoint = fields[4];
        const std::string& fstype = fields[dash + 1];
        if (fstype == "cgroup2") {
            // Prefer the canonical locations; a second cgroup2 mount elsewhere
            // (a container runtime's) is not ours to use.
            if (mountpoint == "/sys/fs/cgroup") {
                host.v2_root = mountpoint;
                host.layout = CgroupLayout::Unified;
            } else if (mountpoint == "/sys/fs/cgroup/unified" && host.v2_root.empty()) {
                host.v2_root = mountpoint;
                host.layout = CgroupLayout::Hybrid;
            }
        } else if (fstype == "cgroup") {
            for (const auto& opt : split(fields[dash + 3], ',')) {
                if (opt == "pids" || opt == "memory" || opt == "cpu")
                    host.v1_mounts.emplace(opt, mountpoint);
            }
        }
    }
    if (host.v2_root.empty())
        return plain_error(
            "no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified; the kill switch "
            "needs it (boot with systemd.unified_cgroup_hierarchy=1, or mount -t cgroup2 none "
            "/sys/fs/cgroup/unified)");
    if (host.layout == CgroupLayout::Unified) host.v1_mounts.clear();
    return host;
}

Result<CgroupHost> detect_cgroup_host() {
    auto text = read_file("/proc/self/mountinfo");
    if (!text) return text.error();
    auto host = parse_cgroup_mounts(*text);
    if (!host) return host;
    if (auto ctl = read_file(host->v2_root + "/cgroup.subtree_control")) {
        std::istringstream in(*ctl);
        std::string c;
        while (in >> c) host->v2_controllers.insert(c);
    }
    return host;
}

}  // namespace sandboxd
