// Where the session's BPF programs find a thread's id in sandbox-run's own
// pid namespace, for a sandbox-run that is not in the host's (in a
// container): see struct sbx_pidns in sandboxd_bpf.h.
#pragma once

#include "base/result.h"
#include "sandboxd_bpf.h"

namespace sandboxd {

// All zero in the host's pid namespace, where the kernel's ids are the
// supervisor's. Otherwise the namespace's inode number and the offsets the
// programs read at, from the running kernel's BTF; an error if the kernel
// has no BTF or its structures lack a field (the programs then report the
// kernel's ids, and a call the gate journals gets a second line).
Result<sbx_pidns> supervisor_pidns();

}  // namespace sandboxd
