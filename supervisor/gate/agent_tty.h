// /dev/tty (5:0) is no terminal of its own: the kernel opens whichever
// terminal controls the process that opens it. The gate's worker is a
// thread of sandbox-run, whose controlling terminal is the user's own: an
// agent opening /dev/tty for writing (which the gate does for it) got a
// descriptor of the user's terminal, to read keystrokes from, write to
// and change the settings of, past the session's end (a red-team
// finding). So the gate opens the agent's controlling terminal instead,
// found as the kernel would for the agent.
#pragma once

#include <sys/stat.h>

#include "base/result.h"
#include "base/unique_fd.h"
#include "gate/operations.h"
#include "gate/request.h"

namespace sandboxd {

// Whether `st` is /dev/tty's device, whatever its name.
bool is_current_tty(const struct stat& st);

// The calling agent thread's controlling terminal, opened with the
// agent's access mode and status flags (never making it the worker's
// controlling terminal): the pty sandbox-run made the agent's, when its
// master says the agent's session holds it, else the one of the session's
// own /dev/pts that the thread's /proc/TID/stat names. ENXIO where the
// thread has none, as the kernel answers.
Result<UniqueFd> open_agent_tty(const GateRequest& r, const GateContext& ctx, int flags);

}  // namespace sandboxd
