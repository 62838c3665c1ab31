// Which agent calls the snapshot gate has journaled itself, for the event
// stream to leave out (bpf/progs/file_events.bpf.h): without them every
// chmod, create or open for writing the gate handles had two lines, the
// gate's (with its undo record) and the exit tracepoint's. An array of the
// session's BPF programs, mapped into this process, one slot per thread
// (its id modulo the count): (tid << 32) | syscall number. The gate writes
// a slot before it answers the call, the call's exit program clears it.
// Made by the BPF layer, written by the gate; here, below both.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sandboxd {

struct GateLineMarks {
    uint64_t* slots = nullptr;
    size_t count = 0;  // a power of two
    // The mapping `slots` points into: shared, so that a gate whose threads
    // are left running past the session (see ~Gate) still writes mapped
    // memory.
    std::shared_ptr<void> mapping;
    explicit operator bool() const { return slots && count; }

    static uint64_t value(pid_t tid, long nr) { return uint64_t(uint32_t(tid)) << 32 | uint32_t(nr); }
    uint64_t* slot(pid_t tid) const { return &slots[uint32_t(tid) & (count - 1)]; }
    // Before answering: the exit of call `nr` of thread `tid` is not journaled.
    void mark(pid_t tid, long nr) const { __atomic_store_n(slot(tid), value(tid, nr), __ATOMIC_RELEASE); }
    // The answer did not reach the thread (gone): the mark goes, unless the
    // slot holds another thread's by now.
    void unmark(pid_t tid, long nr) const {
        uint64_t expected = value(tid, nr);
        __atomic_compare_exchange_n(slot(tid), &expected, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
    }
};

}  // namespace sandboxd
