// A session's BPF programs (bpf/progs/session.bpf.c), loaded for the
// session: the network scope on its cgroup, and the event stream (network
// decisions, execs) read back from its ring buffer.
//
// The network programs are attached with BPF_F_ALLOW_MULTI through the
// legacy attach call, not a link: an attachment lives as long as the
// cgroup, so if the supervisor dies the agent keeps its network scope. The
// tracepoint programs (execs and file operations) are links
// owned by the supervisor: events stop with it, enforcement does not depend
// on them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/agent_state_counts.h"
#include "base/gate_line_marks.h"
#include "base/result.h"
#include "bpf/net_plan.h"

struct sbx_session;
struct ring_buffer;
struct bpf_link;
struct bpf_program;

namespace sandboxd {

class SessionPrograms {
public:
    // fn(data, size) for each ring buffer record.
    using RecordFn = std::function<void(const void*, size_t)>;

    // Loads the programs with the plan in their maps, for the session whose
    // cgroup v2 directory is `cgroup_fd`, and attaches them.
    struct Options {
        bool audit = false;
        // Attach the tracepoints of execs (sched_process_exec) and file
        // syscalls; without them no exec or file events are reported.
        bool file_events = true;
        bool log_reads = false;  // [events] reads
        // Every bind() goes to the snapshot gate, which journals the refused
        // ones and the socket files it makes: the exit of bind() reports none.
        bool gate_journals_binds = false;
        // The profile accepts a kernel without the unix socket hooks
        // (unix-socket-hooks, base/kernel_gap.h): run without them there.
        bool unix_hooks_optional = false;
        // Count the session's chdir, fchdir and umask calls for the snapshot
        // gate (agent_state()).
        bool agent_state = false;
    };
    static Result<SessionPrograms> start(const NetPlan& plan, const Options& opts, int cgroup_fd);
    // The file syscalls whose exits are watched; those newer than Linux 6.1
    // only where this kernel has their tracepoint.
    static std::vector<std::string> watched_file_syscalls();
    SessionPrograms(SessionPrograms&&) noexcept;
    SessionPrograms& operator=(SessionPrograms&&) noexcept;
    ~SessionPrograms();

    int events_fd() const;  // poll for POLLIN, then consume()
    void consume(const RecordFn& fn);
    uint64_t dropped() const;
    uint64_t reads() const;  // successful opens for reading: counted, not logged
    // Network decisions the hooks made, and how many of them are not in
    // the journal (sampled past the first SBX_NET_EVENTS_IN_FULL of a kind).
    struct NetCounts {
        uint64_t allowed = 0, refused = 0, unjournaled = 0;
    };
    NetCounts net_counts() const;
    // File calls and execs the kernel refused, and how many of them are not
    // in the journal (past the first SBX_FILE_REFUSALS_IN_FULL).
    struct FileRefusals {
        uint64_t refused = 0, unjournaled = 0;
    };
    FileRefusals file_refusals() const;
    bool unix_hooks() const { return unix_hooks_; }  // connect_unix/sendmsg_unix attached
    // The counts of chdir, fchdir and umask calls the session's threads
    // have begun and ended (bpf/progs/agent_state.bpf.h), mapped into this
    // process and valid as long as this object. Null pointers when they are
    // not kept: not asked for, or this kernel's tracefs could not give the
    // tracepoints (the gate then reads what it needs every time).
    AgentStateCounts agent_state() const { return agent_state_; }
    // The session's init (its pid on the host), which makes the gate's unix
    // connects: the unix hooks let it connect. Before the gate starts.
    Status set_connector(pid_t init);
    // Where the snapshot gate marks the calls it journaled itself, which
    // the event stream then leaves out (base/gate_line_marks.h); empty
    // without file events.
    GateLineMarks gate_lines() const { return gate_lines_; }
    // Why they are not kept, when they were asked for and are not.
    const std::string& agent_state_problem() const { return agent_state_problem_; }
    // Why the connects and binds Landlock refuses are not journaled in this
    // session (a session without file events, where the tracepoints could
    // not be had); empty when they are.
    const std::string& net_refusals_problem() const { return net_refusals_problem_; }

    // Detaching a tracepoint program waits for an RCU grace period in the
    // kernel, several milliseconds that would otherwise sit on the agent's
    // exit path (sandbox-run returns only after it). This hands the last
    // references to a short-lived process that pays for it instead (the
    // destructor does it too). Call it at the end, before what comes after
    // the programs' detaching (the process's exit).
    void detach_tracepoints_in_background();

private:
    SessionPrograms() = default;
    struct SkelDeleter {
        void operator()(sbx_session* s) const;
    };
    struct RingDeleter {
        void operator()(ring_buffer* r) const;
    };
    struct LinkDeleter {
        void operator()(bpf_link* l) const;
    };
    using Link = std::unique_ptr<bpf_link, LinkDeleter>;
    static Result<Link> attach_tracepoint(int tracefs, bpf_program* prog, const char* category,
                                          const std::string& name);
    Status watch_agent_state(int tracefs, bool exec_attached);
    std::unique_ptr<sbx_session, SkelDeleter> skel_;
    std::unique_ptr<ring_buffer, RingDeleter> ring_;
    std::vector<Link> links_;  // the tracepoints
    AgentStateCounts agent_state_;  // holds the config map's read-only mapping
    GateLineMarks gate_lines_;
    std::string agent_state_problem_;
    std::string net_refusals_problem_;
    std::unique_ptr<RecordFn> fn_;  // stable address for the ring buffer callback
    bool unix_hooks_ = true;
};

}  // namespace sandboxd
