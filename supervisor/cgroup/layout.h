// Where cgroups live on this host, detected at run time from mountinfo:
//   unified  cgroup2 at /sys/fs/cgroup (most systemd hosts);
//   hybrid   cgroup2 at /sys/fs/cgroup/unified for freeze/kill and process
//            tracking, limits in the v1 controllers next to it.
#pragma once

#include <map>
#include <set>
#include <string>

#include "base/result.h"

namespace sandboxd {

enum class CgroupLayout { Unified, Hybrid };

struct CgroupHost {
    CgroupLayout layout = CgroupLayout::Unified;
    std::string v2_root;                           // cgroup2 mount point
    std::map<std::string, std::string> v1_mounts;  // controller -> mount (hybrid)
    std::set<std::string> v2_controllers;          // enabled for the root's children

    // Directory holding every session cgroup: <v2_root>/sandboxd.
    std::string v2_base() const { return v2_root + "/sandboxd"; }
};

// Reads /proc/self/mountinfo. Fails when there is no cgroup2 mount, since
// freeze and kill (the kill switch) need cgroup v2.
Result<CgroupHost> detect_cgroup_host();

// Parses mountinfo text (split out so tests can feed other hosts' layouts).
Result<CgroupHost> parse_cgroup_mounts(std::string_view mountinfo);

}  // namespace sandboxd
