// The file-scope half of a profile, compiled into Landlock rules.
//
//   read     READ_FILE READ_DIR
//   write    + WRITE_FILE MAKE_REG MAKE_DIR MAKE_SYM MAKE_FIFO MAKE_SOCK
//   destroy  + REMOVE_FILE REMOVE_DIR TRUNCATE REFER
//   exec     EXECUTE READ_FILE READ_DIR
//
// Everything the kernel can restrict is handled, so what is not granted is
// denied: overwriting an existing file (O_TRUNC), deleting, renaming (which
// removes the source name) and cross-directory links need a destroy tree;
// executing needs an exec tree. IOCTL_DEV is not handled: terminals opened
// inside the session must keep working.
//
// Pure data: computed before the agent is cloned, from the profile and the
// kernel's ABI version; installing it is launch/'s job.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/kernel_gap.h"
#include "profile/profile.h"

namespace sandboxd {

struct LandlockRule {
    std::string path;
    uint64_t access = 0;
    std::string why;  // "read", "write+destroy", "device" ... for --explain
    // Granted entry by entry around a hidden path (hidden_split.h): one
    // gone by the time the ruleset is built is skipped, and a symbolic
    // link put there since is not followed.
    bool beside_hidden = false;
    // Of those, a directory on the way to one: it may only be listed.
    bool on_the_way = false;
};

struct LandlockPolicy {
    int abi = 0;                  // the kernel's ABI the policy was built for
    uint64_t handled_fs = 0;
    uint64_t handled_net = 0;     // TCP bind/connect, ABI 4+
    uint64_t scoped = 0;          // signals and abstract sockets, ABI 6+
    std::vector<LandlockRule> fs_rules;
    std::vector<uint16_t> connect_ports;  // TCP ports the agent may connect to
    uint64_t private_tmp_access = 0;      // rights on the session's own /tmp and /dev/shm
    uint64_t destroy_access = 0;          // the rights a destroy tree adds
    // Rights the profile gives /proc itself. The session mounts its own
    // procfs there, and Landlock does not carry a rule from a covered
    // mount point to what covers it, so the child grants these again.
    uint64_t proc_access = 0;
    // What the profile asks for that this ABI cannot express; non-empty
    // means the session is refused unless the profile accepts each gap.
    std::vector<KernelGap> missing;
    // What is enforced by a weaker means or not at all on this ABI, for --explain.
    std::vector<std::string> notes;
    // What the session will not be able to do that the profile allows,
    // said on stderr as it starts.
    std::vector<std::string> warnings;
    // The hidden paths as the kernel reaches them (resolved_hidden_paths).
    std::vector<std::string> hidden;
};

// Device files every session may read and write (they hold no data of the
// host's): /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom,
// /dev/tty, /dev/ptmx, /dev/pts. Listed by --explain.
const std::vector<std::string>& implicit_device_paths();

// `agent_uid`: whose directories need their hidden paths kept out of the
// rules (hidden_split.h).
LandlockPolicy compile_landlock(const Profile& p, int kernel_abi, uid_t agent_uid);

// The kernel's Landlock ABI version, 0 when Landlock is missing or disabled.
int landlock_abi_version();

}  // namespace sandboxd
