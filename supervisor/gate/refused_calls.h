// Calls the session's seccomp filter refuses, sent to the gate only to be
// journaled (base/syscall_refusal.h): the dispatcher answers each at once
// with the filter's errno; nothing is done for them. An attempt to escape
// (ptrace, mount, bpf, unshare of a namespace, io_uring) is then on the
// record, not only refused.
//
// An agent looping on a refused call must not flood the journal: of each
// syscall the 1st, 2nd, 4th, 8th... attempts are journaled, each with the
// count so far, and at the end of the session the total of any whose last
// attempt was not.
#pragma once

#include <linux/seccomp.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/syscall_refusal.h"
#include "journal/journal.h"

namespace sandboxd {

class RefusedCalls {
public:
    explicit RefusedCalls(SyscallRefusals refusals = {}) : refusals_(std::move(refusals)) {}

    // The refusal for this syscall, if the filter sends its refusals here.
    const SyscallRefusal* find(int nr) const;

    // Counts an attempt; its journal line if it is one to journal (without
    // the thread's name, which the caller reads only then).
    std::optional<JournalEntry> attempt(const seccomp_notif& n, const SyscallRefusal& r);

    // At the session's end: the total of each syscall whose last attempt
    // had no line.
    std::vector<JournalEntry> totals() const;

private:
    SyscallRefusals refusals_;
    struct Count {
        uint64_t attempts = 0;
        int32_t last_pid = 0;
    };
    std::map<int, Count> counts_;
};

}  // namespace sandboxd
