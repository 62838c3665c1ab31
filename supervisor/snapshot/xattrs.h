// Extended attributes an undo record carries itself, for rollback to put
// back: those a snapshot cannot keep on its own. A removed directory's go
// with it (its snapshot is its metadata); a write strips a file's
// capabilities (security.capability) in the kernel, and the copy the
// snapshot keeps can hold neither those nor ACLs of the original's, since
// the gate makes it as the agent.
#pragma once

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace sandboxd {

// Largest sum of values kept for one object: past it the destructive call
// is refused (the undo record is a journal line).
constexpr size_t kMaxKeptXattrBytes = 256 << 10;

// The attributes of the object open at `fd` (also O_PATH) that rollback puts back:
// user.*, the POSIX ACLs and file capabilities, as {name: hex value}; an
// empty object when it has none (or its filesystem none at all). Read as
// the caller: trusted.* and the other security.* names are not kept
// (the worker may read neither, and a label is the system's to set).
Result<nlohmann::json> kept_xattrs(int fd);

// Sets each attribute of `kept` (kept_xattrs()) on the object open at
// `fd`. After its owner and mode: a chown strips file capabilities.
Status put_back_xattrs(int fd, const nlohmann::json& kept);

}  // namespace sandboxd
