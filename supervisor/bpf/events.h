// Events from the session's BPF programs, turned into journal entries.
#pragma once

#include <cstddef>
#include <optional>

#include "journal/journal.h"
#include "sandboxd_bpf.h"

namespace sandboxd {

// A journal entry for one ring buffer record; nothing for a record too
// short for its kind (never trusted past its size).
std::optional<JournalEntry> journal_entry_for_event(const void* data, size_t size);

// "1.2.3.4:443" / "[::1]:53" for a network event's destination.
std::string format_destination(const sbx_net_event& e);

}  // namespace sandboxd
