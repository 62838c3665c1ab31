// Whether a descriptor is on one of the host's mounts rather than the
// session's. A descriptor the agent was handed from outside (a terminal or
// FIFO passed on as its stdin, stdout or stderr) stays on the host's mount,
// outside the session's read-only view: the gate refuses to change what it
// names through it (fchmod, fchown, fsetxattr, ftruncate). The session's
// mounts are copies with ids of their own; pipes, sockets and memfds are on
// the kernel's internal mounts, in neither table.
#pragma once

#include <cstdint>
#include <set>

namespace sandboxd {

class SessionMounts {
public:
    // `procdir`: /proc/TID of the calling thread, whose mount namespace is
    // the session's. Both tables are kept, and read again when `mnt_id` is
    // in neither (a mount made since, by the host or in a namespace the
    // agent may make). Not known to be the host's: false.
    bool on_host(int procdir, uint64_t mnt_id);

private:
    std::set<uint64_t> session_;
    std::set<uint64_t> host_;
};

// The mount id of what `fd` is open on; 0 when the kernel cannot say.
uint64_t mount_id_of(int fd);

}  // namespace sandboxd
