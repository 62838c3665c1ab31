// Events from the session's BPF programs, turned into journal entries.
#pragma once

#include <cstddef>
#include <optional>

#include "journal/journal.h"
#include "profile/profile.h"
#include "sandboxd_bpf.h"

namespace sandboxd {

// A journal entry for one ring buffer record; nothing for a record too
// short for its kind (never trusted past its size).
std::optional<JournalEntry> journal_entry_for_event(const void* data, size_t size);

// An exec through a descriptor (fexecve, execveat with AT_EMPTY_PATH) is
// "/dev/fd/N" to the kernel, which names no program: the line gets the
// program /proc shows for the process now ("program"), while it is there.
void name_program_of_descriptor_exec(JournalEntry& entry);

// Audit mode: a file or exec entry the kernel allowed becomes a "log"
// entry naming the rule that would have denied it, when the profile would
// have. Relative paths are taken from the workspace (the agent's starting
// directory); paths are compared as strings.
void mark_would_be_denial(JournalEntry& entry, const Profile& profile, const std::string& workspace);

// "1.2.3.4:443" / "[::1]:53" for a network event's destination.
std::string format_destination(const sbx_net_event& e);
// An address as the events carry it (IPv4 ones IPv4-mapped), in text.
std::string format_address(const sbx_u8 (&addr)[16]);

}  // namespace sandboxd
