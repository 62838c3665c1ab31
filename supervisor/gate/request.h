// One intercepted syscall, with everything the gate needs from the calling
// agent thread fetched while the thread is parked in the kernel: its root
// and working directory, the directory descriptors it passed, the paths it
// passed (copied out of its memory once: what the gate acts on is its own
// copy, so rewriting the buffer afterwards changes nothing).
//
// Fetching needs ptrace-level access to the agent, so it runs on the gate's
// privileged thread; the operation itself runs on the worker, which is the
// agent (credentials, Landlock domain) and could not fetch any of this.
#pragma once

#include <linux/seccomp.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "gate/agent_threads.h"
#include "gate/session_mounts.h"

namespace sandboxd {

struct GateRequest {
    uint64_t id = 0;  // the kernel's notification id
    uint16_t exec_epoch = 0;  // GateLineMarks::epoch() of the caller, read before its request was fetched
    pid_t pid = 0;    // the calling thread, in our pid namespace
    int nr = -1;      // syscall number
    uint64_t args[6] = {};
    std::string comm;
    int root = -1;          // the agent's root directory (AgentThreads holds it, or root_held)
    UniqueFd root_held;     // the thread group leader's, for /proc/self/root/... from another thread
    HeldFd dir1, dir2;      // where path1 and path2 start (a working directory is lent by `threads`)
    UniqueFd file;          // ftruncate: the agent's open file itself
    std::string path1, path2;
    std::string xattr_name, xattr_value;  // setxattr/removexattr
    std::string sun_path;                 // connect() or bind() to a pathname unix socket
    std::string sockaddr;                 // bind(): the address, as the agent passed it
    std::string link_target;              // symlink(): the text, never resolved
    // The calling thread's umask, asked for only when something is really
    // made (it may mean reading /proc/TID/status, about 7 µs). The thread's
    // handles are the dispatcher's, which waits while the request is in
    // flight.
    // The descriptor `file` is on a mount outside the session's (handed in
    // from outside, see session_mounts.h): nothing is changed through it.
    bool foreign_mount = false;
    AgentThreads* threads = nullptr;
    AgentThreads::Thread* thread = nullptr;
    // const: what it may keep (AgentThreads::umask) is the thread table's,
    // which the request only points to.
    mode_t umask() const;
};

// The syscalls the gate handles: everything the seccomp filter sends it.
bool gate_handles(int nr);

// Errors carry the errno the agent's call fails with (EFAULT for a bad
// pointer, EBADF for a bad descriptor); ESRCH when the thread went away.
Result<GateRequest> fetch_request(int listener, const seccomp_notif& n, AgentThreads& threads, SessionMounts& mounts);

}  // namespace sandboxd
