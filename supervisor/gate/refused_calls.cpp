#include "gate/refused_calls.h"

#include <bit>

#include "base/syscall_names.h"

namespace sandboxd {

namespace {

JournalEntry refusal_entry(int nr, const SyscallRefusal& r, int32_t pid) {
    JournalEntry e;
    e.action = "syscall";
    e.target = syscall_name(nr);
    e.decision = "deny";
    e.rule = "syscalls: " + r.rule;
    e.layer = "seccomp";
    e.pid = pid;
    e.err = r.err;
    return e;
}

}  // namespace

const SyscallRefusal* RefusedCalls::find(int nr) const {
    auto it = refusals_.find(nr);
    return it == refusals_.end() ? nullptr : &it->second;
}

std::optional<JournalEntry> RefusedCalls::attempt(const seccomp_notif& n, const SyscallRefusal& r) {
    Count& c = counts_[n.data.nr];
    ++c.attempts;
    c.last_pid = int32_t(n.pid);
    if (!std::has_single_bit(c.attempts)) return std::nullopt;
    JournalEntry e = refusal_entry(n.data.nr, r, int32_t(n.pid));
    const auto& a = n.data.args;
    e.detail = {{"args", {a[0], a[1], a[2], a[3], a[4], a[5]}}, {"attempts", c.attempts}};
    return e;
}

std::vector<JournalEntry> RefusedCalls::totals() const {
    std::vector<JournalEntry> out;
    for (const auto& [nr, c] : counts_) {
        if (std::has_single_bit(c.attempts)) continue;  // its last attempt has its line
        const SyscallRefusal* r = find(nr);
        if (!r) continue;
        JournalEntry e = refusal_entry(nr, *r, c.last_pid);
        e.detail = {{"attempts", c.attempts}, {"total", true}};
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace sandboxd
