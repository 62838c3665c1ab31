// The guarded names of protected paths that do not exist yet (GuardedName,
// mounts/plan.h): the checks every gated call that makes, replaces or
// writes a name goes through, and their upkeep as the agent makes and
// removes the directories on the way.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "gate/operations.h"

namespace sandboxd {

// The guard that keeps `name` in directory `dir` from being made or
// changed (GuardedName), if one does; `as_directory`: made by mkdir, which
// a name on the way to a protected path may be. guarded_object: the same
// for an object (`st`: its stat) that holds such a name (a worktree's .git
// file, a symlinked dotfile), under whatever name it is reached now.
const GuardedName* guarded_name(const GateContext& ctx, int dir, const std::string& name, bool as_directory = false);
const GuardedName* guarded_object(const GateContext& ctx, const struct stat& st);
// Forgets the guards inside a directory that is gone (`st`: its stat).
void drop_guards_in(GateContext& ctx, const struct stat& st);
// The refusal of an operation on a guarded name: EROFS, as for the
// protected paths that exist (read-only mounts), journaled with the rule.
GateOutcome refuse_guarded(const GateRequest& r, const char* action, const std::string& target, const GuardedName& g);

// Guards added by guard_inside, at most: directories on the way made and
// moved aside over and over would otherwise grow the list (and the time of
// every check) without end. Past it, such a directory is refused.
constexpr size_t kMaxGuards = 1024;

// The guards whose name on the way is `name` in `dir`: what mkdir of it
// adds inside (guard_inside); nullopt when there is no room for them.
std::optional<std::vector<const GuardedName*>> guards_on_the_way(const GateContext& ctx, int dir, const std::string& name);
// `name`, just made in `dir` by mkdir, is a name on the way for `on_way`:
// the next name of each is guarded inside it.
void guard_inside(GateContext& ctx, int dir, const std::string& name, const std::vector<const GuardedName*>& on_way);

}  // namespace sandboxd
