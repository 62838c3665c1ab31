// Path resolution the way the kernel would do it for the agent, done by the
// gate on the agent's behalf: from the agent's own root, working directory
// or directory descriptor (descriptors the gate holds, which lie in the
// agent's mount namespace), one component at a time with O_NOFOLLOW, and
// symbolic links expanded by hand (absolute ones restart at the agent's
// root, not ours). The result is a held directory descriptor and a final
// name: everything the gate then does is relative to that descriptor, so a
// path string is never looked up twice.
//
// Why not openat2(RESOLVE_IN_ROOT)? It takes one descriptor as both the
// starting point and the root; the agent's relative paths start at its
// working directory while its absolute symlinks start at its root.
//
// Run it under the agent's credentials (the gate's worker thread has them),
// so that searching a directory needs the agent's permission, not ours.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

struct ResolvedPath {
    // The directory holding the final name: one the resolution opened, or,
    // for a path of one component, the caller's `root` or `start` itself
    // (no copy: the caller keeps it open while this is used).
    UniqueFd opened;
    int borrowed = -1;
    std::string name;        // final component; "." or ".." when the path ends so
    bool trailing_slash = false;  // "dir/": the final object must be a directory

    int parent() const { return opened ? opened.get() : borrowed; }
};

// Resolves all but the last component of `path`; with `follow_final` a
// symlink in the last place is followed too (open without O_NOFOLLOW,
// truncate), so `name` never names a symlink then. `root` is the agent's
// root, `start` its working directory or the directory descriptor it
// passed. Errors carry the errno the agent's own call would have got.
Result<ResolvedPath> resolve_for_agent(int root, int start, const std::string& path, bool follow_final);

}  // namespace sandboxd
