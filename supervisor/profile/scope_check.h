// The profile's file scope, asked about one path in user space: what audit
// mode uses to say which rule would have denied an operation it let through
// (enforcement itself is Landlock's and the mount namespace's, in the kernel).
#pragma once

#include <optional>
#include <string>

#include "profile/profile.h"

namespace sandboxd {

// True when `path` is one of the existing `trees` or beneath one (compared
// as strings, component by component).
bool under_existing_tree(const std::string& path, const std::vector<PathRule>& trees);

enum class FileAccess { Read, Write, Destroy, Exec };

// The rule that would deny `access` to `path` (absolute, normalized), or
// nothing when the profile allows it. Paths are compared as strings: an
// approximation of the kernel's view that does not follow symlinks.
std::optional<std::string> would_deny(const Profile& p, FileAccess access, const std::string& path);

}  // namespace sandboxd
