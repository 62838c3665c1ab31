#include "journal/journal.h"

#include "journal/json_text.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <limits>

#include "base/file_io.h"
#include "base/time_util.h"
#include "journal/journald.h"
#include "journal/json_text.h"

namespace sandboxd {
namespace {

constexpr size_t kMaxLine = 1 << 20;

// Holds an flock for the lifetime of an append.
class FlockGuard {
public:
    explicit FlockGuard(int fd) : fd_(fd) {
        while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
        }
    }
    ~FlockGuard() { ::flock(fd_, LOCK_UN); }

private:
    int fd_;
};

void send_to_journald(const std::string& session, uint64_t seq, const JournalEntry& e) {
    // Warning for denials, info otherwise.
    std::string priority = e.decision == "deny" ? "PRIORITY=4" : "PRIORITY=6";
    journald_send({"MESSAGE=sandboxd session " + session + ": " + e.action + " " + e.target + " -> " +
                       e.decision,
                   priority, "SYSLOG_IDENTIFIER=sandboxd", "SANDBOXD_SESSION=" + session,
                   "SANDBOXD_SEQ=" + std::to_string(seq), "SANDBOXD_ACTION=" + e.action,
                   "SANDBOXD_TARGET=" + e.target, "SANDBOXD_DECISION=" + e.decision,
                   "SANDBOXD_RULE=" + e.rule, "SANDBOXD_LAYER=" + e.layer,
                   "SANDBOXD_PID=" + std::to_string(e.pid), "SANDBOXD_COMM=" + e.comm,
                   "SANDBOXD_ERRNO=" + std::to_string(e.err),
                   "SANDBOXD_SNAPSHOT=" + e.snapshot.value_or("")});
}

}  // namespace

Result<Journal> Journal::open(const std::string& path, std::string session_id) {
    auto fd = open_fd(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0600);
    if (!fd) return fd.error();
    Journal j;
    j.path_ = path;
    j.session_ = std::move(session_id);
    j.fd_ = std::move(*fd);
    {
        FlockGuard lock(j.fd_.get());
        SANDBOXD_TRY(j.resync());
    }
    return j;
}

// Finds the last sequence number in the file: read the tail, parse the last
// complete line. Called only when the file changed behind our back.
Status Journal::resync() {
    struct stat st{};
    if (::fstat(fd_.get(), &st) != 0) return errno_error("cannot stat " + path_);
    known_size_ = st.st_size;
    if (st.st_size == 0) {
        last_seq_ = 0;
        return {};
    }
    auto rfd = open_fd(path_, O_RDONLY);
    if (!rfd) return rfd.error();
    off_t start = st.st_size > off_t(kMaxLine) ? st.st_size - off_t(kMaxLine) : 0;
    std::string tail(size_t(st.st_size - start), '\0');
    ssize_t n = ::pread(rfd->get(), tail.data(), tail.size(), start);
    if (n < 0) return errno_error("cannot read " + path_);
    tail.resize(size_t(n));
    // A torn last line (a crash mid-write) is skipped; seq continues after
    // the last line that parses, and the reader reports the torn one.
    std::vector<std::string_view> lines;
    for (size_t pos = 0; pos < tail.size();) {
        size_t nl = tail.find('\n', pos);
        if (nl == std::string::npos) nl = tail.size();
        lines.emplace_back(tail.data() + pos, nl - pos);
        pos = nl + 1;
    }
    bool torn = !tail.empty() && tail.back() != '\n';
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        if (auto parsed = parse_journal_line(*it)) {
            last_seq_ = (*parsed)["seq"].get<uint64_t>();
            if (!torn) return {};
            // A whole line that only lacks its newline: give it one.
            if (it == lines.rbegin()) return end_line(st.st_size);
            return seal_torn_tail(lines.back(), st.st_size);
        }
    }
    // Nothing but a fragment: the writer died in the first line.
    if (torn && lines.size() == 1 && start == 0) {
        last_seq_ = 0;
        return seal_torn_tail(lines.back(), st.st_size);
    }
    return plain_error(path_ + ": no valid journal line found to continue the sequence from");
}

Status Journal::end_line(off_t size) {
    if (auto written = write_all(fd_.get(), "\n"); !written) return written.error();
    known_size_ = size + 1;
    return {};
}

// A writer that died mid-line (appends hold the flock, so the caller's
// flock proves nobody is writing it now) left bytes with no newline: a line
// appended after them would be glued to them, and both lost to readers.
// The fragment is taken off the end and written back as a line of its own,
// so what it said (often the target of the last operation) is kept.
Status Journal::seal_torn_tail(std::string_view fragment, off_t size) {
    std::string kept(fragment);
    off_t cut = size - off_t(kept.size());
    JournalEntry e = info_entry(
        "journal.torn", path_, "journal",
        {{"fragment", kept},
         {"why", "the writer stopped in the middle of this line (a crash or kill); the line is lost, and a "
                 "snapshot only it named shows in rollback as an orphan"}});
    std::string line = line_for(e, last_seq_ + 1);
    if (::ftruncate(fd_.get(), cut) != 0) return errno_error("cannot take the torn last line off " + path_);
    if (auto written = write_all(fd_.get(), line); !written) {
        // The fragment is lost then, but the file ends on a line again.
        (void)::ftruncate(fd_.get(), cut);
        return written.error();
    }
    if (::fdatasync(fd_.get()) != 0) return errno_error("cannot sync " + path_);
    ++last_seq_;
    known_size_ = cut + off_t(line.size());
    return {};
}

std::string Journal::line_for(const JournalEntry& e, uint64_t seq) const {
    std::string out;
    out.reserve(320);
    auto key = [&](const char* k) {
        out += out.empty() ? "{\"" : ",\"";
        out += k;
        out += "\":";
    };
    auto text = [&](const char* k, std::string_view v) {
        key(k);
        append_json_string(out, v);
    };
    auto number = [&](const char* k, int64_t v) {
        key(k);
        out += std::to_string(v);
    };
    key("seq");
    out += std::to_string(seq);
    text("time", format_rfc3339(e.time_usec.value_or(realtime_usec())));
    text("session", session_);
    number("pid", e.pid);
    text("comm", e.comm);
    text("action", e.action);
    text("target", e.target);
    text("decision", e.decision);
    text("rule", e.rule);
    text("layer", e.layer);
    number("errno", e.err);
    if (e.snapshot) {
        text("snapshot", *e.snapshot);
    } else {
        key("snapshot");
        out += "null";
    }
    // The undo record and the detail keep paths exactly (the store paths a
    // session names, the snapshots it dropped); in the target, a line for
    // people to read, invalid UTF-8 is replaced rather than lose the line.
    key("undo");
    append_exact_json(out, e.undo);
    if (!e.detail.is_null()) {
        key("detail");
        append_exact_json(out, e.detail);
    }
    out += "}\n";
    return out;
}

Result<uint64_t> Journal::append(const JournalEntry& e) { return append_all(std::span<const JournalEntry>(&e, 1)); }

Result<uint64_t> Journal::append_all(std::span<const JournalEntry> entries) {
    std::lock_guard<std::mutex> in_process(*mu_);
    if (entries.empty()) return last_seq_;
    FlockGuard lock(fd_.get());
    struct stat st{};
    if (::fstat(fd_.get(), &st) != 0) return errno_error("cannot stat " + path_);
    if (st.st_size != known_size_) {
        SANDBOXD_TRY(resync());
        if (::fstat(fd_.get(), &st) != 0) return errno_error("cannot stat " + path_);  // resync may seal a torn line
    }

    // Out of room: the space left is kept for the lines that say how to undo
    // what was already done (and the session's own start and end). Events
    // (reads, refusals) are not written.
    auto needed = [](const JournalEntry& e) { return !e.undo.is_null() || e.durable; };
    if (room_lost_ && std::none_of(entries.begin(), entries.end(), needed))
        return Error{ENOSPC, "no room left in " + path_ + " but for undo records"};
    std::string lines;
    bool sync_now = false, sync_later = false;
    uint64_t seq = last_seq_;
    for (const auto& e : entries) {
        lines += line_for(e, ++seq);
        if (e.durable || (!e.undo.is_null() && !e.sync_later)) sync_now = true;
        else if (!e.undo.is_null()) sync_later = true;
    }
    if (auto written = write_all(fd_.get(), lines); !written) {
        // Out of space mid-line: take the fragment back, or the next line
        // would be glued to it and both be lost to readers.
        if (::ftruncate(fd_.get(), st.st_size) != 0) known_size_ = -1;
        return written.error();
    }
    if (sync_now) {
        if (::fdatasync(fd_.get()) != 0) return errno_error("cannot sync " + path_);
        unsynced_ = false;
    } else if (sync_later) {
        unsynced_ = true;
    }
    known_size_ = st.st_size + off_t(lines.size());
    for (const auto& e : entries) {
        ++last_seq_;
        bool routine = e.decision == "allow" && (e.action.starts_with("file.") || e.action.starts_with("dir."));
        if (!routine) send_to_journald(session_, last_seq_, e);
    }
    return last_seq_;
}

JournalEntry info_entry(std::string action, std::string target, std::string layer, nlohmann::json detail) {
    JournalEntry e;
    e.action = std::move(action);
    e.target = std::move(target);
    e.decision = "info";
    e.layer = std::move(layer);
    e.detail = std::move(detail);
    return e;
}

JournalEntry sandboxctl_entry(std::string action, std::string target, std::string decision, std::string rule) {
    JournalEntry e;
    e.action = std::move(action);
    e.target = std::move(target);
    e.decision = std::move(decision);
    e.rule = std::move(rule);
    e.layer = "sandboxctl";
    e.pid = ::getpid();
    e.comm = "sandboxctl";
    e.durable = true;
    return e;
}

Status Journal::keep_room(off_t ahead) {
    std::lock_guard<std::mutex> in_process(*mu_);
    if (known_size_ >= 0 && known_size_ + ahead / 2 <= room_end_) return {};
    struct stat st{};
    if (::fstat(fd_.get(), &st) != 0) return errno_error("cannot stat " + path_);
    if (st.st_size + ahead / 2 <= room_end_) return {};
    if (::fallocate(fd_.get(), FALLOC_FL_KEEP_SIZE, st.st_size, ahead) != 0) {
        if (errno == EOPNOTSUPP || errno == ENOSYS) {
            room_end_ = std::numeric_limits<off_t>::max();
            return {};
        }
        room_lost_ = true;
        return errno_error("no room to keep for " + path_);
    }
    room_lost_ = false;
    room_end_ = st.st_size + ahead;
    return {};
}

void Journal::release_room() {
    std::lock_guard<std::mutex> in_process(*mu_);
    off_t kept_to = room_end_;
    if (kept_to == 0 || kept_to == std::numeric_limits<off_t>::max()) return;
    room_end_ = 0;
    // Under the lock appenders take: the size read is the size kept.
    FlockGuard lock(fd_.get());
    struct stat st{};
    if (::fstat(fd_.get(), &st) != 0) return;
    // Blocks past the end go with a truncate to the same size (ext4 will
    // not punch a hole past the end); a hole for those that keep them.
    (void)::ftruncate(fd_.get(), st.st_size);
    if (kept_to > st.st_size)
        (void)::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size, kept_to - st.st_size);
}

Status Journal::sync() {
    std::lock_guard<std::mutex> in_process(*mu_);
    if (!unsynced_) return {};
    if (::fdatasync(fd_.get()) != 0) return errno_error("cannot sync " + path_);
    unsynced_ = false;
    return {};
}

std::optional<nlohmann::json> parse_journal_line(std::string_view line) {
    auto v = nlohmann::json::parse(line, nullptr, false);
    if (v.is_discarded() || !v.is_object() || !v.contains("seq") || !v["seq"].is_number_unsigned()) return std::nullopt;
    return v;
}

namespace {

// Journal lines as they come, a piece at a time: each whole line checked,
// and held when `keep` wants it; the start of a line a piece cut waits
// for the rest.
class LineScan {
public:
    explicit LineScan(const std::function<bool(nlohmann::json&)>& keep) : keep_(keep) {}

    void feed(std::string_view piece) {
        for (size_t nl; (nl = piece.find('\n')) != std::string_view::npos; piece.remove_prefix(nl + 1)) {
            std::string_view line = piece.substr(0, nl);
            if (!pending_.empty()) line = pending_.append(line);
            ++no_;
            uint64_t at = offset_;
            offset_ += line.size() + 1;
            if (auto v = parse_journal_line(line)) {
                if (keep_(*v)) out_.lines.push_back({no_, std::move(*v), at, line.size()});
            } else {
                out_.problems.push_back("line " + std::to_string(no_) + ": not a journal line");
            }
            pending_.clear();
        }
        pending_.append(piece);
    }

    JournalScan finish() && {
        // The writer died mid-line: expected after a crash, and only the
        // last line can be so. Reported, not a reason to stop.
        if (!pending_.empty())
            out_.torn_tail =
                "line " + std::to_string(no_ + 1) + " is torn (no newline: its writer stopped while writing it)";
        return std::move(out_);
    }

private:
    const std::function<bool(nlohmann::json&)>& keep_;
    JournalScan out_;
    uint64_t no_ = 0;
    uint64_t offset_ = 0;  // of the line being read
    std::string pending_;
};

}  // namespace

JournalScan scan_journal(std::string_view text) {
    const std::function<bool(nlohmann::json&)> all = [](nlohmann::json&) { return true; };
    LineScan scan(all);
    scan.feed(text);
    return std::move(scan).finish();
}

Result<std::string> read_journal_text(const std::string& path) {
    auto fd = open_fd(path, O_RDONLY);
    if (!fd) return Error{fd.error().code, "cannot open " + path};
    while (::flock(fd->get(), LOCK_SH) != 0)
        if (errno != EINTR) return errno_error("cannot lock " + path);
    auto text = read_fd(fd->get());
    if (!text) return Error{text.error().code, "cannot read " + path};
    return text;
}

Result<JournalScan> scan_journal_file(const std::string& path, const std::function<bool(nlohmann::json&)>& keep) {
    auto fd = open_fd(path, O_RDONLY);
    if (!fd) return Error{fd.error().code, "cannot open " + path};
    while (::flock(fd->get(), LOCK_SH) != 0)
        if (errno != EINTR) return errno_error("cannot lock " + path);
    LineScan scan(keep);
    std::vector<char> piece(1 << 20);
    for (;;) {
        ssize_t n = ::read(fd->get(), piece.data(), piece.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("cannot read " + path);
        if (n == 0) break;
        scan.feed(std::string_view(piece.data(), size_t(n)));
    }
    return std::move(scan).finish();
}

Result<std::vector<JournalLine>> read_journal(const std::string& path) {
    auto text = read_journal_text(path);
    if (!text) return text.error();
    JournalScan scan = scan_journal(*text);
    if (!scan.problems.empty()) return plain_error(path + ": " + scan.problems.front());
    return std::move(scan.lines);
}

}  // namespace sandboxd
