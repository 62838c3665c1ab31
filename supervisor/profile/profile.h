// A resolved scope profile: what an agent may read, write, destroy, execute
// and reach, which syscalls it may make, its resource limits and its tier.
// This is plain data; nothing here touches the kernel. Loading (TOML,
// `extends`, variables) lives in loader.h.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sandboxd {

// Where a value came from, for error messages that point at the line.
struct SourcePos {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;

    std::string describe() const;  // "file:line:column"
};

// One filesystem tree in a scope. A path written with a leading '-' in the
// profile ("-/lib64") is optional: skipped when it does not exist instead of
// being an error. Every other missing path refuses the session.
struct PathRule {
    std::string path;  // absolute, normalized, variables expanded
    bool optional = false;
    bool exists = true;  // checked at resolution; false only when optional
    SourcePos pos;
};

// One network destination: an address block or a host name, and a port range.
struct NetRule {
    enum class Kind { Ipv4, Ipv6, Host };
    Kind kind = Kind::Ipv4;
    uint8_t addr[16] = {};   // network byte order; first 4 bytes for IPv4
    uint8_t prefix_len = 0;  // CIDR prefix; 32/128 for a single address
    std::string host;        // Kind::Host only; resolved at session start
    uint16_t port_min = 0;
    uint16_t port_max = 0;   // 0-65535 when the entry says '*'
    std::string text;        // as written, for messages and the journal
    SourcePos pos;
};

struct Limits {
    std::optional<uint64_t> memory_bytes;
    std::optional<uint64_t> pids;
    std::optional<uint32_t> cpu_millicores;  // 1000 = one full CPU
};

enum class TimeoutAction { Deny, Freeze, Kill };

struct Approval {
    uint32_t timeout_sec = 300;
    TimeoutAction on_timeout = TimeoutAction::Deny;
};

// What the event stream reports besides execs and network decisions.
struct EventRules {
    // File operations from the per-syscall exit tracepoints: every change
    // and every refusal journaled, reads counted. Costs start-up time
    // (attaching 29 tracepoints), a BPF run on each file call of the host
    // and a bit test on every other syscall while the session runs; a
    // profile may turn it off.
    bool files = true;
    // Every successful open for reading journaled too, not only counted
    // (needs `files`): a record of what the agent looked at, at the cost of
    // a line per open.
    bool reads = false;
    // The most the session's journal may grow to: an agent whose allowed
    // actions would write more (a loop of utimes, 60 MB a second) is ended
    // there, rather than fill the disk the journal is on, or go on with
    // its actions unrecorded.
    uint64_t journal_limit_bytes = 2ull << 30;  // 2 GiB
};

// What the snapshot gate may keep for a session (see snapshot/store.h).
// The gate runs when the profile has destroy trees (or in audit mode);
// a destructive operation whose snapshot would exceed the budget is refused.
struct SnapshotRules {
    uint64_t budget_bytes = 1ull << 30;    // 1 GiB
    uint32_t retention_sec = 7 * 86400;    // kept a week after the session ends
};

struct SyscallRules {
    std::vector<std::string> deny;   // names and @groups added to the baseline
    std::vector<std::string> allow;  // names and @groups removed from it
};

struct Profile {
    std::string name;
    std::string description;
    std::string source;                // file path, or "builtin:NAME"
    std::vector<std::string> chain;    // this profile, then what it extends
    int tier = 2;

    std::vector<PathRule> read;
    std::vector<PathRule> write;
    std::vector<PathRule> destroy;
    std::vector<PathRule> protect;     // read-only carve-outs inside write trees
    std::vector<PathRule> hide;        // invisible to the agent
    std::vector<PathRule> exec_allow;
    std::vector<NetRule> connect;      // empty = no network

    SyscallRules syscalls;
    EventRules events;
    SnapshotRules snapshots;
    Limits limits;
    Approval approval;
    // Kernel gaps (base/kernel_gap.h) the profile runs without rather than
    // refuse the session: [kernel] accept_missing.
    std::vector<std::string> accept_missing;
};

const char* timeout_action_name(TimeoutAction a);

// Whether the profile runs without kernel layer `gap` (base/kernel_gap.h)
// where the kernel lacks it.
inline bool accepts_missing(const Profile& p, std::string_view gap) {
    return std::find(p.accept_missing.begin(), p.accept_missing.end(), gap) != p.accept_missing.end();
}

}  // namespace sandboxd
