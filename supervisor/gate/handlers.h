// The gate's operations, one family a file: destroy_ops.cpp (unlink, rmdir,
// rename), write_ops.cpp (truncate, opens that can change a file),
// metadata_ops.cpp (chmod, chown, xattrs), connect_op.cpp (unix sockets),
// bind_op.cpp (binds, where names are guarded), watch_op.cpp (inotify
// watches, only on what the agent may read),
// create_ops.cpp (mkdir, mknod, symlink, link: only where a protected path
// does not exist yet, to keep its name from being made, see guards.h; or
// where a write tree's filesystem keeps no birth times).
// All run on the gate's worker thread (see operations.h).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "gate/operations.h"

namespace sandboxd {

GateOutcome do_unlink(const GateRequest& r, GateContext& ctx, bool dir);
GateOutcome do_rename(const GateRequest& r, GateContext& ctx, unsigned flags);
GateOutcome do_truncate_path(const GateRequest& r, GateContext& ctx);
// ftruncate() and truncations: the regular file open at `fd` cut to `len`.
GateOutcome truncate_file(const GateRequest& r, GateContext& ctx, const char* action, int fd, off_t len);
GateOutcome do_open(const GateRequest& r, GateContext& ctx, int flags, mode_t mode);
GateOutcome do_metadata(const GateRequest& r, GateContext& ctx);
GateOutcome do_connect(const GateRequest& r, GateContext& ctx);
GateOutcome do_bind(const GateRequest& r, GateContext& ctx);
GateOutcome do_watch(const GateRequest& r, GateContext& ctx);
GateOutcome do_mkdir(const GateRequest& r, GateContext& ctx, mode_t mode);
GateOutcome do_mknod(const GateRequest& r, GateContext& ctx, mode_t mode, dev_t dev);
GateOutcome do_symlink(const GateRequest& r, GateContext& ctx);
GateOutcome do_link(const GateRequest& r, GateContext& ctx, int flags);
// The journal line of dir/name, just made for the agent (`type`: "file",
// "dir", "symlink", "special"), with the undo record that takes it away,
// where rollback's sweep could not find it (GateContext::journal_creates:
// its filesystem keeps no birth times); none otherwise.
std::optional<JournalEntry> creation_line(const GateRequest& r, GateContext& ctx, const char* action, int dir,
                                          const std::string& name, const char* type);

}  // namespace sandboxd
