// The action journal: append-only JSON Lines, one action a line.
//
//   {"seq":7,"time":"2026-11-25T14:22:29.123456Z","session":"3f9c2a1b7d4e",
//    "pid":4242,"comm":"rm","action":"file.unlink","target":"/ws/a.txt",
//    "decision":"allow","rule":"filesystem.destroy","layer":"seccomp-notify",
//    "errno":0,"snapshot":"snap/000007","undo":{...},"detail":{...}}
//
// seq is strictly increasing per journal, also with several writers (the
// supervisor and sandboxctl both append): each append takes an exclusive
// flock, re-reads the last seq when someone else wrote since, and writes the
// line with one write() on an O_APPEND descriptor. Lines that matter for
// recovery (session start/end, anything with an undo record) are fsync'ed.
// Entries also go to journald with SANDBOXD_* fields when journald is
// there (its absence is not an error): all of them but the routine allowed
// file operations, which can run to thousands a second and stay in the
// session's own journal.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

struct JournalEntry {
    std::string action;    // "session.start", "session.end", "session.freeze", ...
    std::string target;    // the object acted on: a path, an address, a command
    std::string decision;  // "allow", "deny", "log" (audit), "info"
    std::string rule;      // the profile rule or layer that decided
    std::string layer;     // "supervisor", "seccomp", "landlock", "cgroup-bpf", ...
    int32_t pid = 0;
    std::string comm;
    int32_t err = 0;                  // errno of a denied or failed operation
    std::optional<std::string> snapshot;  // snapshot reference, when one was taken
    nlohmann::json undo;              // how to reverse the action (null when nothing to undo)
    nlohmann::json detail;            // action-specific fields
    bool durable = false;             // fsync after writing
    // An undo record is normally synced at once; a writer with many of
    // them (the snapshot gate) sets this and calls Journal::sync() itself,
    // in batches. The operation's snapshot is durable either way.
    bool sync_later = false;
    // When the action happened (realtime, microseconds), if it was earlier
    // than the append: the gate answers the agent first and journals after,
    // and `rollback --to` compares this time with files' birth times.
    std::optional<int64_t> time_usec;
};

// An entry for an action sandboxctl takes on a session (freeze, kill,
// rollback, prune): layer and comm "sandboxctl", this process's pid,
// synced at once.
JournalEntry sandboxctl_entry(std::string action, std::string target, std::string decision, std::string rule);

// A line that reports rather than decides (decision "info"): counts at a
// session's end, a torn line sealed, a frozen session quiesced.
JournalEntry info_entry(std::string action, std::string target, std::string layer, nlohmann::json detail = nullptr);

// One Journal may be shared by the threads of a process (the supervisor's
// event loop and its snapshot gate): appends are serialised in the process
// by a mutex, across processes by the flock. Two instances in one process
// would work too, but each would re-read the other's tail before every
// append.
class Journal {
public:
    // Opens (creating) the journal file for appending.
    static Result<Journal> open(const std::string& path, std::string session_id);

    // Appends one entry; returns its sequence number.
    Result<uint64_t> append(const JournalEntry& e);
    // Appends entries in order with one lock and one write (a burst of
    // events: the event loop must keep up with the ring buffer); returns
    // the last sequence number.
    Result<uint64_t> append_all(std::span<const JournalEntry> entries);

    // fdatasync of what was appended with sync_later.
    Status sync();
    // Keeps `ahead` bytes allocated past the end of the file (fallocate,
    // the size unchanged), extending the reservation once half of it is
    // used: a writer that must never be refused a line learns of a full
    // disk while what it already accepted still fits. Where the
    // filesystem cannot reserve, a no-op.
    Status keep_room(off_t ahead);
    // Gives back what keep_room() kept beyond the end: a finished session's
    // journal should not hold megabytes of disk it will never use.
    void release_room();
    bool unsynced() const {
        std::lock_guard<std::mutex> in_process(*mu_);
        return unsynced_;
    }

    const std::string& path() const { return path_; }

private:
    Journal() = default;
    Status resync();
    Status seal_torn_tail(std::string_view fragment, off_t size);
    Status end_line(off_t size);
    std::string line_for(const JournalEntry& e, uint64_t seq) const;

    std::string path_;
    std::string session_;
    UniqueFd fd_;
    uint64_t last_seq_ = 0;
    off_t known_size_ = -1;  // file size after our last write
    off_t room_end_ = 0;     // allocated up to here (keep_room)
    bool room_lost_ = false; // keep_room failed: what is left is for undo records
    bool unsynced_ = false;
    std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
};

// Reading a journal back. One parser for every reader (sandboxctl log,
// rollback, retention, tests): a line is a JSON object with an unsigned
// "seq", or it is not a journal line.
struct JournalLine {
    uint64_t line_no = 0;
    nlohmann::json value;
    uint64_t offset = 0, size = 0;  // where its text is in the file (no newline)
};
std::optional<nlohmann::json> parse_journal_line(std::string_view line);

// A journal's whole text: the lines that parse, and for each that does
// not (or is torn, without its newline) a problem naming its number
// ("line 7: not a journal line"); reading goes on past them.
struct JournalScan {
    std::vector<JournalLine> lines;
    std::vector<std::string> problems;  // lines that are not journal lines
    std::string torn_tail;              // set when the last line has no newline
};
JournalScan scan_journal(std::string_view text);

// The text of the journal at `path` as it stands between two appends: each
// append holds an exclusive flock, so under a shared one no line is half
// written, and a last line without its newline is a writer that died.
Result<std::string> read_journal_text(const std::string& path);

// The lines of the journal at `path`; the first problem is an error.
Result<std::vector<JournalLine>> read_journal(const std::string& path);

// The journal at `path` read a piece at a time (under a shared flock, as
// read_journal_text), every line checked, and only those `keep` wants
// held, as `keep` leaves them (it may take what it needs and leave null,
// to read the line again by its offset later): a journal of gigabytes (an
// agent's flood of actions) must not take many times its size in memory
// to roll back.
Result<JournalScan> scan_journal_file(const std::string& path, const std::function<bool(nlohmann::json&)>& keep);

}  // namespace sandboxd
