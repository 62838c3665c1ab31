// Classic (tracefs) tracepoints opened as perf events, for a BPF program to
// be attached to: the per-syscall sys_exit_NAME events and
// sched_process_exec. libbpf can do this too, but only through a tracefs
// mounted at /sys/kernel/tracing or /sys/kernel/debug/tracing; a host may
// have neither, and sandbox-run must not mount one into the host's mount
// table. So the ids are read here from a tracefs found or privately made.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

// A directory descriptor on a tracefs: the mounted one, or else a private
// detached mount (fsopen/fsmount) that no path on the host leads to and that
// goes away with the descriptor.
Result<UniqueFd> open_tracefs();

// The id of the tracepoint events/CATEGORY/NAME (error ENOENT: the kernel
// has no such tracepoint).
Result<uint64_t> tracepoint_id(int tracefs, const std::string& category, const std::string& name);

// A perf event on the tracepoint events/CATEGORY/NAME of `tracefs`, not yet
// enabled; attaching a BPF program enables it. The program then runs for
// every thread on every CPU that reaches the tracepoint.
Result<UniqueFd> open_tracepoint(int tracefs, const std::string& category, const std::string& name);

}  // namespace sandboxd
