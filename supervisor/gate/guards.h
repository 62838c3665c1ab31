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

// Every guard on `name` in directory `dir` (GuardedName): those whose
// `rest` is empty keep the name from being made at all, the others let
// mkdir make it (see guard_inside).
// A directory on the way that someone else made (another session on the
// workspace, the user's own `git init`) is found by following the names
// from the guard's directory as they are now, and guarded the same.
std::vector<const GuardedName*> guards_on(GateContext& ctx, int dir, const std::string& name);
// The same with the directory's stat known already (`dir_st`).
std::vector<const GuardedName*> guards_on(GateContext& ctx, int dir, const struct stat& dir_st, const std::string& name);
// The first of them, if any: what keeps the name from being made other
// than by mkdir, or changed. guarded_object: the same for an object (`st`:
// its stat) that holds such a name (a worktree's .git file, a symlinked
// dotfile), under whatever name it is reached now.
const GuardedName* guarded_name(GateContext& ctx, int dir, const std::string& name);
// A guard on the protected path itself (not a name on its way): what may
// not be removed or moved away either.
const GuardedName* protected_name(GateContext& ctx, int dir, const std::string& name);
const GuardedName* protected_name(GateContext& ctx, int dir, const struct stat& dir_st, const std::string& name);
const GuardedName* guarded_object(const GateContext& ctx, const struct stat& st);
// The refusal of `action` on an open file (`st`: its fstat) reached by its
// descriptor (/proc/self/fd/N, fchmod, a link's source) when it is a
// protected one: by guarded_object's guard, else by the protected name it
// has now, as the host reaches it. A protected file the host made or
// replaced since the start holds no inode guard: it was written through a
// descriptor the agent had opened for reading. EAGAIN when the name
// changed while it was looked at. None for any other file.
std::optional<GateOutcome> refuse_guarded_open_file(const GateRequest& r, GateContext& ctx, const char* action,
                                                    const std::string& target, int fd, const struct stat& st);
// Forgets the guards inside a directory that is gone (`st`: its stat).
void drop_guards_in(GateContext& ctx, const struct stat& st);
// The refusal of an operation on a guarded name: EROFS, as for the
// protected paths that exist (read-only mounts), EACCES for a hidden one,
// journaled with the rule.
GateOutcome refuse_guarded(const GateRequest& r, const char* action, const std::string& target, const GuardedName& g);

// A guard's name and those of its rest, in order (GateContext::GuardRoot).
std::vector<std::string> guard_chain(const GuardedName& g);

// Guards, at most: directories on the way made and moved aside over and
// over would otherwise grow the list (and the time of every check) without
// end. Past it, mkdir of a name on the way is refused.
constexpr size_t kMaxGuards = 1024;

// `name`, just made in `dir` by mkdir, is a name on the way for `on_way`
// (its guards_on()): the next name of each is guarded inside it.
void guard_inside(GateContext& ctx, int dir, const std::string& name, const std::vector<const GuardedName*>& on_way);

}  // namespace sandboxd
