// Journal lines handed over by a hot path (the snapshot gate answers the
// agent, then queues the line) and written by a thread of their own: one
// lock and one write() per batch, off the path the agent waits on.
//
// A push does not wake the writer while it is busy: waking a thread on
// another CPU is an interprocessor interrupt, which in a VM costs the
// pusher more than the line itself. Once lines flow, the writer looks for
// more every kBatchMs on its own timer, and only sleeps until woken after
// a look that found none.
//
// Lines with an undo record ask for a sync; the writer syncs them when a
// burst ends (a look finds no new line), or kSyncEveryMs after the first
// unsynced one in a long burst (an rm -rf). The snapshots they refer to are
// durable before each operation: a crash can lose only the newest lines,
// those that say where the snapshots came from.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "journal/journal.h"

namespace sandboxd {

class JournalWriter {
public:
    // `annotate` runs on each entry, in the writer thread, before it is written.
    JournalWriter(Journal& journal, std::function<void(JournalEntry&)> annotate);
    // Writes and syncs everything queued.
    ~JournalWriter();
    JournalWriter(const JournalWriter&) = delete;
    JournalWriter& operator=(const JournalWriter&) = delete;

    // Queues a line. Waits only when kMaxQueued lines are already waiting
    // (a writer far behind: the gate then slows down rather than grow
    // without bound).
    void push(JournalEntry e);
    // Returns once everything queued so far is written and synced.
    void flush();
    // A line could not be written or synced (the disk is full, an I/O
    // error): the first such error, for the gate to stop taking
    // destructive operations whose undo record would have nowhere to go.
    std::optional<Error> failure() const {
        std::lock_guard<std::mutex> lock(mu_);
        return failure_;
    }
    // Whether there is a failure(), without the lock: the gate asks before
    // every call it takes.
    bool failed() const { return failed_.load(std::memory_order_acquire); }

    static constexpr size_t kMaxQueued = 4096;
    // And no more than about this many bytes of them: a batch must fit in
    // the room kept ahead with plenty to spare (paths can be long).
    static constexpr size_t kMaxQueuedBytes = 512 * 1024;
    // Disk space kept for lines to come (Journal::keep_room): a full disk
    // is a failure() while this much is still there for the lines already
    // queued and the operations in flight (at ~600 bytes a line, far more
    // than kMaxQueued).
    static constexpr off_t kRoomAhead = 4 << 20;
    static_assert(kRoomAhead / 2 >= off_t(4 * kMaxQueuedBytes), "room for a failing batch and those after it");
    static constexpr int kBatchMs = 2;
    static constexpr int64_t kSyncEveryMs = 100;

private:
    void run();
    void sync_locked(std::unique_lock<std::mutex>& lock);  // syncs with mu_ released

    Journal& journal_;
    std::function<void(JournalEntry&)> annotate_;
    mutable std::mutex mu_;
    std::optional<Error> failure_;
    std::atomic<bool> failed_{false};  // set, under mu_, with failure_
    std::condition_variable work_;   // the writer waits for lines (or stop)
    std::condition_variable done_;   // pushers wait for room, flush() for an empty queue
    std::vector<JournalEntry> queue_;
    size_t queued_bytes_ = 0;  // estimated, see push()
    uint64_t pushed_ = 0, written_ = 0, synced_ = 0;
    int64_t first_unsynced_ = 0;  // when the oldest unsynced line was written
    bool writer_waiting_ = false;
    bool flush_requested_ = false;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace sandboxd
