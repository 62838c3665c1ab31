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
    // `count` marks, then `count` exec epochs (counted up by the exec
    // program for the thread id that came out of an exec).
    uint64_t* slots = nullptr;
    size_t count = 0;  // a power of two
    // The mapping `slots` points into: shared, so that a gate whose threads
    // are left running past the session (see ~Gate) still writes mapped
    // memory.
    std::shared_ptr<void> mapping;
    explicit operator bool() const { return slots && count; }

    size_t index(pid_t tid) const { return uint32_t(tid) & (count - 1); }
    // Read before the gate knows its request is valid (NOTIF_ID_VALID): an
    // exec that kills the thread and takes its id over after that counts
    // past it, and the mark made with it matches nothing.
    uint16_t epoch(pid_t tid) const { return uint16_t(__atomic_load_n(&slots[count + index(tid)], __ATOMIC_ACQUIRE)); }
    static uint64_t value(pid_t tid, uint16_t epoch, long nr) {
        return uint64_t(uint32_t(tid)) << 32 | uint64_t(epoch) << 16 | (uint64_t(nr) & 0xffff);
    }
    // Before answering: the exit of call `nr` of thread `tid` is not journaled.
    void mark(pid_t tid, uint16_t epoch, long nr) const {
        __atomic_store_n(&slots[index(tid)], value(tid, epoch, nr), __ATOMIC_RELEASE);
    }
    // The answer did not reach the thread (gone): the mark goes, unless the
    // slot holds another thread's by now.
    void unmark(pid_t tid, uint16_t epoch, long nr) const {
        uint64_t expected = value(tid, epoch, nr);
        __atomic_compare_exchange_n(&slots[index(tid)], &expected, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
    }
};

}  // namespace sandboxd
