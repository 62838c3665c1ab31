// Keeping hidden paths hidden when the host changes them.
//
// A hidden path is covered by a mount, which covers the object that was
// there when the session started and nothing else: a file the host puts at
// that name during the session (git's credential store renaming its lock
// file over ~/.git-credentials, `gh auth login` rewriting its hosts file)
// takes the name from under the mount, which the kernel then detaches, and
// a hidden path that did not exist (`aws configure` making ~/.aws) had no
// mount at all. Landlock grants a tree to whatever is beneath it, then or
// later, so the agent could read either.
//
// Where the agent's user owns the directory the hidden path is in (so file
// permissions do not stand in for the mount), a read or exec tree above
// the hidden path is granted around it instead: the directories on the
// way may be listed, everything else in them is granted as the tree was,
// entry by entry, and the hidden name gets no rule. Whatever appears at
// the hidden name later is denied, and so is any other new entry of those
// directories (the price: fail closed). Write trees are left whole: the
// agent could not use what it makes directly in a directory on the way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "landlock/policy.h"
#include "profile/profile.h"

namespace sandboxd {

// The profile's hidden paths as the kernel reaches them, existing or not:
// their directories resolved (with_real_directories), and for one that is
// a symbolic link (a dotfile kept in ~/dotfiles) where it leads as well,
// which the host's tools write through it (git's credential store makes
// its lock file next to the link's target and renames it over that).
std::vector<std::string> resolved_hidden_paths(const std::vector<PathRule>& hide);

// Rewrites `rules` as said above. `hidden`: resolved_hidden_paths().
// `write_rights`: rights that make a rule a write tree's. What is left to
// the mounts alone is said in `notes`; what the session cannot read that
// it otherwise could (past the most entries granted one by one), in
// `warnings`, said when it starts.
void grant_around_hidden(std::vector<LandlockRule>& rules, const std::vector<std::string>& hidden, uid_t agent_uid,
                         uint64_t write_rights, std::vector<std::string>& notes, std::vector<std::string>& warnings);

}  // namespace sandboxd
