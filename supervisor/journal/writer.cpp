#include "journal/writer.h"

#include <algorithm>
#include <chrono>
#include <span>

#include "base/time_util.h"

namespace sandboxd {

JournalWriter::JournalWriter(Journal& journal, std::function<void(JournalEntry&)> annotate)
    : journal_(journal), annotate_(std::move(annotate)), thread_([this] { run(); }) {}

JournalWriter::~JournalWriter() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    work_.notify_one();
    thread_.join();
    journal_.release_room();
}

void JournalWriter::push(JournalEntry e) {
    // About what the line will take: its fixed fields, and the target's
    // path again in the undo record and the detail.
    size_t bytes = 512 + 3 * e.target.size();
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] {
        return queue_.empty() || (queue_.size() < kMaxQueued && queued_bytes_ + bytes <= kMaxQueuedBytes);
    });
    queued_bytes_ += bytes;
    queue_.push_back(std::move(e));
    ++pushed_;
    // A wake-up is a syscall: only when the writer sleeps.
    if (writer_waiting_) {
        writer_waiting_ = false;
        work_.notify_one();
    }
}

void JournalWriter::flush() {
    std::unique_lock<std::mutex> lock(mu_);
    uint64_t target = pushed_;
    flush_requested_ = true;
    writer_waiting_ = false;
    work_.notify_one();  // also out of a timed look: a flush is rare, and waited for
    done_.wait(lock, [&] { return synced_ >= target; });
}

void JournalWriter::sync_locked(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    Status synced = journal_.sync();
    lock.lock();
    if (!synced && !failure_) {
        failure_ = synced.error();
        failed_.store(true, std::memory_order_release);
    }
    first_unsynced_ = 0;
    synced_ = written_;
    done_.notify_all();
}

void JournalWriter::run() {
    std::vector<JournalEntry> batch;
    std::unique_lock<std::mutex> lock(mu_);
    bool lines_flowing = false;
    for (;;) {
        if (queue_.empty()) {
            if (stop_) break;
            if (flush_requested_) {
                flush_requested_ = false;
                sync_locked(lock);
                continue;
            }
            if (lines_flowing) {
                // Look again soon, unwoken: more lines are likely on their way.
                lines_flowing = false;
                work_.wait_for(lock, std::chrono::milliseconds(kBatchMs), [this] { return stop_ || flush_requested_; });
                continue;
            }
            // A look found nothing: the burst is over. Sync it, then sleep
            // until a push, flush() or the end wakes us.
            if (journal_.unsynced()) {
                sync_locked(lock);
                continue;
            }
            writer_waiting_ = true;
            work_.wait(lock, [this] { return !queue_.empty() || stop_ || flush_requested_; });
            writer_waiting_ = false;
            continue;
        }
        lines_flowing = true;
        batch.swap(queue_);
        queued_bytes_ = 0;
        done_.notify_all();  // room again
        lock.unlock();
        // Room is kept from the first line on (a session that destroys
        // nothing costs no allocation): before it is written, so that a
        // full disk shows while these lines still fit.
        std::optional<Error> failed;
        if (auto room = journal_.keep_room(kRoomAhead); !room) failed = room.error();
        for (auto& e : batch)
            if (annotate_) annotate_(e);
        constexpr size_t kPerWrite = 512;
        for (size_t at = 0; at < batch.size(); at += kPerWrite) {
            size_t n = std::min(kPerWrite, batch.size() - at);
            if (auto r = journal_.append_all(std::span<const JournalEntry>(batch.data() + at, n)); !r && !failed)
                failed = r.error();
        }
        lock.lock();
        if (failed && !failure_) {
            failure_ = failed;
            failed_.store(true, std::memory_order_release);
        }
        written_ += batch.size();
        batch.clear();
        if (!journal_.unsynced()) {
            synced_ = written_;
            done_.notify_all();
        } else if (!first_unsynced_) {
            first_unsynced_ = monotonic_nsec();
        } else if (monotonic_nsec() - first_unsynced_ > kSyncEveryMs * 1000000) {
            sync_locked(lock);
        }
    }
    sync_locked(lock);
}

}  // namespace sandboxd
