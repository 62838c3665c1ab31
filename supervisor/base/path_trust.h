// Whether a path names what it names now for good, as far as other users
// go. In a directory anyone may write to, anyone may replace an entry at
// any time, with a symbolic link to anywhere; where the directory has the
// sticky bit (/tmp, /var/tmp, /dev/shm), only the entry's owner may, and
// the same holds in a sticky directory a group that is not the caller's,
// root's or the agent's may write to (a shared project directory). A profile scope or a workspace
// reached through such an entry is theirs to point, not the profile's; the
// kernel's fs.protected_symlinks refuses to follow links in sticky
// world-writable directories for the same reason, but sandbox-run resolves
// paths as root, whom it does not stop.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace sandboxd {

// The users and groups trusted: root, the caller (and the user behind
// sudo), and the agent's, who could point its own paths anywhere from
// outside the session anyway.
struct TrustedOwners {
    std::vector<uid_t> uids;
    std::vector<gid_t> gids;
};
TrustedOwners trusted_owners(uid_t agent_uid, gid_t agent_gid);

// Symbolic links an agent could have made in an earlier session, to point
// a later session's scope or workspace elsewhere (to the user's documents
// or keys): any its user owns; and anyone's where the agent could have put
// it, by moving it or a directory above it: a link below a directory the
// agent may write to, as the kernel decides for its user and every one of
// its groups (mode bits and ACLs). (A relative link leads elsewhere from
// where it is moved to: a root's `a/b/docs -> ../../x`, moved up two
// levels, leads out of the tree; an absolute one moved into the path
// takes it wherever it points.) At a path some profile protects too: a
// session of another profile could have made it. Root's links are the
// system's (/bin, /lib64): an agent run as root is not told apart from it.
struct AgentLinks {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary
};

// nullopt when no entry on the way to `path` (symbolic links followed) can
// be replaced by someone not trusted: none sits in a directory anyone may
// write to that is not sticky, and one in a sticky directory others may
// write to belongs to a trusted user or to the directory's owner; and,
// given `agent_links`, no link on the way is one of them. Otherwise why
// not, naming the entry. Stops quietly at a missing entry: whether a
// missing path is an error is the caller's to say.
std::optional<std::string> untrusted_entry(const std::string& path, const TrustedOwners& trusted,
                                           const AgentLinks* agent_links = nullptr);

// The same walk, giving where `path` leads with no symbolic link on the way
// (what every later open of it follows none through: one put there since
// was not judged), or why it cannot be trusted. A path that does not exist
// (or cannot be walked) is given back as it is.
Result<std::string> trusted_real_path(const std::string& path, const TrustedOwners& trusted,
                                      const AgentLinks* agent_links = nullptr);

}  // namespace sandboxd
