// The agent's standard streams when sandbox-run's are files.
//
// A descriptor keeps the mount it was opened through. sandbox-run's
// stdin, stdout or stderr redirected to a file (`sandbox-run -- agent >
// agent.log`, the usual way to keep a log) would hand the agent a file on
// the host's mount, which is not noexec: `ld.so /proc/self/fd/1` would map
// whatever the agent wrote there and run it, and fchmod or fsetxattr on it
// would change a host file outside the write trees. Such a stream reaches
// the agent as a pipe instead, and a thread of sandbox-run's copies
// between the pipe and the file. Terminals, pipes, sockets and character
// devices are passed on as they are: none can be mapped as code.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

class StdioRelay {
public:
    // Looks at fds 0, 1 and 2 and makes a pipe for each that is a file
    // (regular, block device, directory), and with `terminals` for each
    // that is a terminal too (where the agent can have no terminal of its
    // own: runner/agent_terminal.h). stdout and stderr that are the same
    // file share one pipe, so their lines keep their order.
    static Result<std::unique_ptr<StdioRelay>> start(bool terminals = false);
    ~StdioRelay();
    StdioRelay(const StdioRelay&) = delete;
    StdioRelay& operator=(const StdioRelay&) = delete;

    // The agent's descriptor for stream `i` (0, 1, 2), or -1: inherited.
    int agent_fd(int i) const { return agent_ends_[size_t(i)].get(); }
    // After the agent is started (or failed to): sandbox-run lets go of
    // the agent's ends, so that the relays see end-of-file once the
    // session's last process has gone, and the relays start.
    void agent_started();
    // Once the session's processes are gone: copies what is still in the
    // pipes (waiting at most `timeout_ms` for their end) and stops.
    void finish(int timeout_ms);
    // After finish(): the streams ("stdout", "stderr") of which something
    // could not be written to the file (a full disk): what the agent wrote
    // there is not all in it.
    std::vector<std::string> lost() const;

private:
    StdioRelay() = default;
    // Into the agent: stdin's file into the pipe's write end `own`, counting
    // what went in. Shares nothing else with the relay: a file whose read
    // blocks for good (/proc/kmsg, a hung network file) leaves it behind.
    struct Fed {
        std::atomic<uint64_t> bytes{0};
        std::atomic<bool> ended{false};
    };
    static void feed(std::shared_ptr<Fed> fed, UniqueFd own, int stop);
    // Out of the agent: the pipe's read end `own` into the file at `stdio`.
    void drain(UniqueFd own, int stdio);

    std::array<UniqueFd, 3> agent_ends_;
    std::array<UniqueFd, 3> own_ends_;  // until the relays start
    // stdin: where the file was, what went into the pipe, and a second
    // write end of the pipe, kept to count what the agent left in it: the
    // file is put back where the agent stopped reading
    // (`while read f; do sandbox-run ...; done < list` goes on with the
    // next line).
    off_t stdin_start_ = -1;
    std::shared_ptr<Fed> fed_;
    UniqueFd stdin_pipe_;
    UniqueFd feed_stop_;  // an eventfd: the feeder stops
    std::thread feeder_;
    UniqueFd stop_;  // an eventfd: finish() wants the relays to end
    std::atomic<int> drain_ms_{0};
    std::array<std::atomic<bool>, 3> lost_{};
    std::vector<std::thread> threads_;
};

}  // namespace sandboxd
