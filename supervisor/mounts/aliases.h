// The same directory reached under more than one mount: a bind mount of
// the home directory elsewhere (/home bound from /data/home, a second
// path a container runtime or an admin set up). A hidden path covered at
// one path only would be read under the other, so it is hidden at each.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.h"

namespace sandboxd {

struct MountEntry {
    std::string dev;    // major:minor of the filesystem
    std::string root;   // the directory of that filesystem mounted here
    std::string point;  // where, in this mount namespace
};

// The lines of /proc/PID/mountinfo, in order (a later one at the same
// point is on top); paths unescaped.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// The other paths that reach what `path` names (its directories resolved):
// through every other mount of its filesystem whose root holds it.
std::vector<std::string> mount_aliases(const std::vector<MountEntry>& mounts, const std::string& path);

// Adds to the profile's hidden paths each one's aliases in this mount
// namespace (the agent's starts as a copy of it).
void hide_under_every_mount(Profile& p);

}  // namespace sandboxd
