// Building a gate operation's answer: the errno for the agent and the
// journal line, with refusals (the kernel's or the gate's) journaled.
#pragma once

#include <string>

#include "base/result.h"
#include "gate/operations.h"

namespace sandboxd {

GateOutcome failed(int err);
// A journal line for the operation, "allow" under filesystem.destroy until
// the caller says otherwise.
JournalEntry entry_for(const GateRequest& r, std::string action, std::string target);
// The operation failed with why.code: a refusal (EACCES, EPERM, EROFS,
// ENOSPC, EBUSY) is journaled as "deny"; other errors are the agent's own.
GateOutcome refused(const GateRequest& r, std::string action, std::string target, const Error& why);
// A snapshot copy stopped by GateContext::give_up (ECANCELED from
// SnapshotStore::take_copy) becomes kRestartCall, which refused() does not
// journal: nothing was done, and the call is made again after the thaw
// (or its caller is gone). Other errors pass.
Error given_up(Error e);
// Why a change through a descriptor from outside the session is refused:
// EROFS, as for what the session's read-only view holds.
Error foreign_descriptor();

}  // namespace sandboxd
