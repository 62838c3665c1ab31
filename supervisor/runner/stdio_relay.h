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
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

class StdioRelay {
public:
    // Looks at fds 0, 1 and 2 and makes a pipe for each that is a file
    // (regular, block device, directory). stdout and stderr that are the
    // same file share one pipe, so their lines keep their order.
    static Result<std::unique_ptr<StdioRelay>> start();
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

private:
    StdioRelay() = default;
    // Into the agent: the file at `stdio` into the pipe's write end `own`.
    void feed(int stdio, UniqueFd own);
    // Out of the agent: the pipe's read end `own` into the file at `stdio`.
    void drain(UniqueFd own, int stdio);

    std::array<UniqueFd, 3> agent_ends_;
    std::array<UniqueFd, 3> own_ends_;  // until the relays start
    UniqueFd stop_;  // an eventfd: finish() wants the relays to end
    std::atomic<int> drain_ms_{0};
    std::vector<std::thread> threads_;
};

}  // namespace sandboxd
