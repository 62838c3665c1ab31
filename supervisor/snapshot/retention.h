// Retention: a finished session's snapshots are kept for the retention its
// profile set ([snapshots] retention, a week by default), then removed by
// `sandboxctl prune`. The journal stays: it is the record of what happened;
// only the means to undo it expire. Live and frozen sessions are never
// pruned, whatever their age.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "session/dirs.h"

namespace sandboxd {

struct PrunedSession {
    std::string id;
    std::vector<std::string> stores;  // removed (or, dry, to be removed)
    uint64_t bytes = 0;
    std::string problem;              // why it could not be pruned, if so
};

// Sessions whose snapshots have expired at `now_usec`: removes their stores
// (unless `dry_run`) and journals "snapshots.pruned" in each.
std::vector<PrunedSession> prune_expired_snapshots(const SandboxdDirs& dirs, int64_t now_usec, bool dry_run);

// Retention without anyone to run `sandboxctl prune`: at most once every
// kPruneEveryHours per state directory (a stamp file there says when),
// sandbox-run prunes as a session ends - in a detached process, as
// reading every old journal can take a while, and the caller must not wait.
constexpr int kPruneEveryHours = 24;
void prune_in_background_if_due(const SandboxdDirs& dirs, int64_t now_usec);

}  // namespace sandboxd
