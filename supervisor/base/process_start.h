// When a process started: with its pid, what names one process for good
// (a pid alone is reused).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace sandboxd {

// Start time of a process in clock ticks since boot (field 22 of
// /proc/PID/stat), or 0 when there is no such process.
uint64_t process_start_time(pid_t pid);

}  // namespace sandboxd
