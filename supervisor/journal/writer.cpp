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
}

void JournalWriter::push(JournalEntry e) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return queue_.size() < kMaxQueued; });
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
    if (writer_waiting_) {
        writer_waiting_ = false;
        work_.notify_one();
    }
    done_.wait(lock, [&] { return synced_ >= target; });
}

void JournalWriter::sync_locked(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    (void)journal_.sync();
    lock.lock();
    first_unsynced_ = 0;
    synced_ = written_;
    done_.notify_all();
}

void JournalWriter::run() {
    std::vector<JournalEntry> batch;
    std::unique_lock<std::mutex> lock(mu_);
    auto woken = [this] { return !queue_.empty() || stop_ || flush_requested_; };
    for (;;) {
        if (queue_.empty()) {
            if (stop_) break;
            bool unsynced = journal_.unsynced();
            if (flush_requested_) {
                flush_requested_ = false;
                sync_locked(lock);
                continue;
            }
            writer_waiting_ = true;
            if (!unsynced) {
                work_.wait(lock, woken);
            } else {
                // Sync once the agent pauses, or kSyncEveryMs into a burst.
                int64_t left = kSyncEveryMs - (monotonic_nsec() - first_unsynced_) / 1000000;
                auto wait = std::chrono::milliseconds(std::clamp<int64_t>(left, 0, kSyncIdleMs));
                if (!work_.wait_for(lock, wait, woken)) {
                    writer_waiting_ = false;
                    sync_locked(lock);
                }
            }
            writer_waiting_ = false;
            continue;
        }
        batch.swap(queue_);
        done_.notify_all();  // room again
        lock.unlock();
        for (auto& e : batch)
            if (annotate_) annotate_(e);
        constexpr size_t kPerWrite = 512;
        for (size_t at = 0; at < batch.size(); at += kPerWrite) {
            size_t n = std::min(kPerWrite, batch.size() - at);
            (void)journal_.append_all(std::span<const JournalEntry>(batch.data() + at, n));
        }
        lock.lock();
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
