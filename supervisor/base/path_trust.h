// Whether a path names what it names now for good, as far as other users
// go. In a directory anyone may write to that has the sticky bit (/tmp,
// /var/tmp, /dev/shm), an entry belongs to whoever made it: its owner may
// replace it at any time, with a symbolic link to anywhere. A profile scope
// or a workspace reached through such an entry of another user is theirs to
// point, not the profile's; the kernel's fs.protected_symlinks refuses to
// follow such links for the same reason, but sandbox-run resolves paths as
// root, whom it does not stop.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace sandboxd {

// The owners whose entries are trusted: root, the caller (and the user
// behind sudo), and `agent_uid`, who could point its own paths anywhere
// from outside the session anyway.
std::vector<uid_t> trusted_owners(uid_t agent_uid);

// nullopt when every entry on the way to `path` (symbolic links followed)
// that sits in a sticky, world-writable directory belongs to one of
// `trusted` or to that directory's owner. Otherwise why not, naming the
// entry. Stops quietly at a missing entry: whether a missing path is an
// error is the caller's to say.
std::optional<std::string> untrusted_entry(const std::string& path, const std::vector<uid_t>& trusted);

}  // namespace sandboxd
