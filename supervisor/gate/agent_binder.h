// Binds a unix socket to a path exactly as the agent named it. The gate's
// worker binds by the last name, from the directory it resolved (it lives
// outside the agent's root): the kernel then keeps that last name as the
// socket's address, and getsockname() says it (Python's
// multiprocessing.Manager connects to what it says, and fails). Here a
// thread of its own takes the agent's root and working directory, then its
// Landlock domain, gids and uid, and binds with the agent's own address:
// the name is resolved as the agent's own bind() would resolve it.
//
// Only a thread with the capability to chroot can take another root, and
// the gate's worker has none; so a helper thread of sandbox-run's, started
// while it still has them, makes one thread per bind (credentials cannot
// be taken back).
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <string>

#include "launch/identity.h"

namespace sandboxd {

class AgentBinder {
public:
    // From a thread that has CAP_SYS_CHROOT and CAP_SETUID/SETGID.
    static std::unique_ptr<AgentBinder> start(const Identity& agent, int landlock_ruleset);
    ~AgentBinder();
    AgentBinder(const AgentBinder&) = delete;
    AgentBinder& operator=(const AgentBinder&) = delete;

    // bind(sock, addr) as the agent, from `root` and, for a relative
    // address, `cwd` (descriptors of its root and working directory), with
    // `umask`; 0 or the errno.
    int bind(int sock, int root, int cwd, const std::string& addr, mode_t umask);

private:
    AgentBinder() = default;
    struct Request {
        int sock, root, cwd;
        const std::string* addr;
        mode_t umask;
        int result = -1;
        bool done = false;
    };
    void run();
    int bind_in_own_thread(const Request& r) const;

    Identity agent_;
    int ruleset_ = -1;
    std::mutex mutex_;
    std::condition_variable changed_;
    Request* request_ = nullptr;
    bool quit_ = false;
    std::thread thread_;
};

}  // namespace sandboxd
