// Compiles a profile's syscall rules into a classic BPF seccomp program.
// Compilation happens in the parent before the agent is cloned; the child
// only hands the finished program to the kernel (no allocation, no
// libseccomp between clone and exec).
#pragma once

#include <linux/filter.h>

#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/syscall_refusal.h"
#include "profile/profile.h"

namespace sandboxd {

struct SeccompProgram {
    std::vector<sock_filter> insns;
    std::set<std::string> denied;  // effective syscalls and %rules denied
    std::set<std::string> logged;  // audit mode: would-be denials, logged only
    // Audit mode: the profile's denials of syscalls an argument-shaped rule
    // of the baseline or the gate also covers, neither logged nor denied
    // (effective_sets in the .cpp says why).
    std::set<std::string> unlogged;
    // Destructive syscalls go to the snapshot gate (SCMP_ACT_NOTIFY): the
    // child installs the program with a notification listener and hands
    // the listener to the supervisor.
    bool gated = false;
    bool destructive_gate = false;  // the destructive syscalls; else connect() only
    bool create_gate = false;       // also every call that makes a name (see below)
    // Gated programs send the calls they refuse to the gate too, by syscall
    // number (list_refusals() in the .cpp); empty otherwise.
    SyscallRefusals refusals;

    sock_fprog fprog() const {
        return sock_fprog{static_cast<unsigned short>(insns.size()),
                          const_cast<sock_filter*>(insns.data())};
    }
};

// Effective set = @baseline + rules.deny - rules.allow. In audit mode the
// profile's own additions are logged instead of denied, but the baseline is
// still enforced: audit mode relaxes the scope under study, never the
// sandbox's walls.
//
// With `gate`, the destructive file syscalls are sent to the snapshot gate
// (unlink*, rmdir, rename*, truncate, ftruncate, creat, open and
// openat with O_TRUNC), openat2 says ENOSYS (its flags live in memory the
// filter cannot read; glibc falls back to openat) and fallocate's
// hole-punching, collapsing and zeroing modes say EOPNOTSUPP.
//
// A gated program sends the calls it refuses to the gate as well (all but
// clone3's: glibc tries clone3 for every thread it starts): the gate
// journals each attempt and answers the same errno at once.
//
// Every gated program also sends connect() to the gate, which connects
// pathname unix sockets itself after checking the read scope (the session's
// BPF connect_unix hook refuses any the agent makes on its own).
//
// With `create_gate` (which needs `gate`) every call that makes a name goes
// to the gate as well: open/openat with O_CREAT, mkdir*, mknod*, symlink*,
// link*. The gate refuses the names of protected paths that do not exist
// yet (mounts/plan.h, GuardedName); nothing else can stop their creation.
Result<SeccompProgram> compile_seccomp(const SyscallRules& rules, bool audit, bool gate = false,
                                       bool connect_gate = false, bool create_gate = false);

// The same, through a cache directory (root-owned, 0700): libseccomp's
// compilation is the largest part of a session's start-up, and the same
// profile always compiles to the same program. The key covers the effective
// rule sets, the libseccomp version and the architecture; a corrupt or
// unreadable entry is recompiled, never trusted.
Result<SeccompProgram> compile_seccomp_cached(const SyscallRules& rules, bool audit, bool gate, bool connect_gate,
                                              bool create_gate, const std::string& cache_dir);

}  // namespace sandboxd
