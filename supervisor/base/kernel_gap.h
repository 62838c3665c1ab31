// A kernel feature a profile needs and this kernel lacks. A profile may
// name the gap in `[kernel] accept_missing` to run without that layer
// anyway; otherwise the session is refused with every gap listed.
//
//   landlock            no Landlock at all: file and exec scopes rest on the
//                       mount namespace (read-only, hidden) alone
//   landlock-truncate   Landlock before ABI 3 (Linux 6.2): write trees can
//                       truncate files
//   memfd-noexec        no vm.memfd_noexec (Linux 6.3): the agent can exec
//                       memory-backed files
//   unix-socket-hooks   no cgroup BPF connect_unix/sendmsg_unix (Linux 6.7):
//                       the pathname unix socket check is the gate's alone
#pragma once

#include <string>
#include <vector>

namespace sandboxd {

struct KernelGap {
    std::string id;    // one of kernel_gap_ids()
    std::string what;  // what is missing and which kernel has it
};

inline const std::vector<std::string>& kernel_gap_ids() {
    static const std::vector<std::string> ids = {"landlock", "landlock-truncate", "memfd-noexec",
                                                 "unix-socket-hooks"};
    return ids;
}

}  // namespace sandboxd
