// A syscall the session's seccomp filter refuses by sending it to the
// snapshot gate, which journals the attempt and answers `err` at once: the
// errno the filter's own action would have given. Listed by the policy
// (policy/seccomp_policy.h), answered by the gate (gate/refused_calls.h);
// here, below both.
#pragma once

#include <cerrno>
#include <map>
#include <string>

namespace sandboxd {

struct SyscallRefusal {
    int err = EPERM;
    std::string rule;  // the profile rule: "ptrace", "%tty-injection"...
};

// By syscall number.
using SyscallRefusals = std::map<int, SyscallRefusal>;

}  // namespace sandboxd
