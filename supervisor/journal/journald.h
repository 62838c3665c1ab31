// Structured entries to journald, when journald is listening.
//
// libsystemd is loaded on first use rather than linked: sandbox-run is on
// the start-up path of every agent command, and loading libsystemd with its
// compression and crypto dependencies costs it about half a millisecond,
// for a sink that hosts without journald (containers, this CI) never use.
#pragma once

#include <string>
#include <vector>

namespace sandboxd {

// `fields` are "KEY=value" strings. Returns false when journald is absent or
// refused the entry; the JSON Lines journal is the record of truth either way.
bool journald_send(const std::vector<std::string>& fields);

}  // namespace sandboxd
