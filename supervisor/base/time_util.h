#pragma once

#include <cstdint>
#include <string>

namespace sandboxd {

// Wall clock in microseconds since the epoch (journal timestamps).
int64_t realtime_usec();
// The wall clock as the kernel stamps files with it (CLOCK_REALTIME_COARSE,
// up to a tick behind): a file made after this was read has a birth time no
// earlier than it, which is not true of realtime_usec().
int64_t realtime_coarse_usec();
// Monotonic clock in nanoseconds (latency measurements).
int64_t monotonic_nsec();
// RFC 3339 UTC with microseconds: 2026-11-25T14:22:29.123456Z.
std::string format_rfc3339(int64_t usec);
// "3s", "4m", "2h", "5d": compact age for tables.
std::string format_age(int64_t seconds);

}  // namespace sandboxd
