// Rollback: undoing a session's journaled changes, newest first.
//
// The journal is the plan: every line with an "undo" record (written by the
// snapshot gate) says how to reverse its operation:
//   restore  put a snapshot back at its path ("move": the object itself,
//            "copy": old bytes into a temp file renamed over the path,
//            "mkdir": a removed directory, "symlink": a removed link)
//   rename   move an object back to where it was (then restore what the
//            rename replaced, if anything)
//   exchange swap two objects back
//   remove   take away a file or directory the agent created
// Nothing is deleted by a rollback: what it takes away (objects the agent
// created) is moved into the store's "rolled-back" directory.
//
// Conflicts: before touching a path, rollback checks that nobody outside the
// session changed it after the session ended (ctime after the end, or a
// different object than the journal recorded). A conflict stops that step
// and is reported; the other steps go on; --force overrides. Steps already
// undone by an earlier rollback (journaled as rollback.undo) are skipped, so
// running it twice is harmless.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace sandboxd {

class Journal;

struct RollbackOptions {
    std::optional<uint64_t> to_seq;   // undo only what came after this seq
    std::optional<std::string> path;  // only steps touching this path or below
    bool dry_run = false;
    bool force = false;
};

struct RollbackStep {
    uint64_t seq = 0;        // the journal line undone
    std::string what;        // "restore /ws/a.txt from snapshot 000001"
    std::string status;      // "planned", "done", "conflict", "error", "skipped", "orphan",
                             // "lost" (a journal line torn by a crash)
    std::string detail;      // why, for conflicts and errors
};

struct RollbackReport {
    std::vector<RollbackStep> steps;
    std::vector<std::string> problems;  // unreadable journal lines and the like
    int done = 0, conflicts = 0, errors = 0;
    // Objects in the session's stores that no journal line names: the
    // supervisor died between taking a snapshot and journaling it. They
    // stay in the store (nothing is lost), and each is a step "orphan".
    int orphans = 0;
};

// Reads the session's journal at `journal_path` and undoes (or, dry, plans)
// its changes. `now_end_usec`: the session's end for conflict checks (its
// end time, or now for a session that is still frozen). A torn last line
// (its writer died mid-line) is a step "lost", not a problem. A corrupt journal
// line makes the whole rollback a dry run: nothing changes, the plan for
// the rest is reported along with the problem. `log`: where to journal
// each undone step (the session's own journal), or null.
RollbackReport rollback_session(const std::string& journal_path, const RollbackOptions& opts, Journal* log);

}  // namespace sandboxd
