// Landlock's user-space ABI, complete up to ABI 7. Debian 12's kernel
// headers stop at ABI 2; the kernel we run on is newer, and the ABI is
// stable, so the missing definitions are spelled out here.
#pragma once

#include <linux/landlock.h>
#include <linux/types.h>
#include <sys/syscall.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

namespace sandboxd::landlock {

// struct landlock_ruleset_attr as of ABI 6 (the kernel accepts a shorter
// size from older callers, so the size passed decides what is handled).
struct RulesetAttr {
    __u64 handled_access_fs;
    __u64 handled_access_net;
    __u64 scoped;
};

constexpr __u32 kRuleNetPort = 2;  // LANDLOCK_RULE_NET_PORT
struct NetPortAttr {
    __u64 allowed_access;
    __u64 port;
};

constexpr __u64 kNetBindTcp = 1ULL << 0;
constexpr __u64 kNetConnectTcp = 1ULL << 1;
constexpr __u64 kScopeAbstractUnixSocket = 1ULL << 0;
constexpr __u64 kScopeSignal = 1ULL << 1;

constexpr __u64 kFsAbi1 = (1ULL << 13) - 1;  // EXECUTE .. MAKE_SYM
constexpr __u64 kFsRefer = LANDLOCK_ACCESS_FS_REFER;
constexpr __u64 kFsTruncate = LANDLOCK_ACCESS_FS_TRUNCATE;
// The rights a rule on a file (not a directory) may carry.
constexpr __u64 kFsFileRights =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | kFsTruncate;

}  // namespace sandboxd::landlock
