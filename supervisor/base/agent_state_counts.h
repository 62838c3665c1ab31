// Where the session's BPF programs count the calls that change an agent
// thread's working directory or umask (bpf/progs/agent_state.bpf.h), as the
// snapshot gate reads them: two words of the session's config map, mapped
// into this process. Made by the BPF layer, read by the gate; here, below
// both. Read with atomic loads; the programs only add.
#pragma once

#include <cstdint>
#include <memory>

namespace sandboxd {

struct AgentStateCounts {
    const uint64_t* entered = nullptr;  // calls begun
    const uint64_t* exited = nullptr;   // calls ended
    // The mapping the two point into: shared, so that a gate whose threads
    // are left running past the session (see ~Gate) still reads mapped
    // memory.
    std::shared_ptr<const void> mapping;
    explicit operator bool() const { return entered && exited; }
};

}  // namespace sandboxd
