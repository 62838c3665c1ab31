// Where the session's BPF programs count the calls that change an agent
// thread's working directory or umask (bpf/progs/agent_state.bpf.h), as the
// snapshot gate reads them: words of the session's config map, mapped into
// this process. Read with atomic loads; the programs only add.
#pragma once

#include <cstdint>

namespace sandboxd {

struct AgentStateCounts {
    const uint64_t* entered = nullptr;  // calls begun
    const uint64_t* exited = nullptr;   // calls ended
    explicit operator bool() const { return entered && exited; }
};

}  // namespace sandboxd
