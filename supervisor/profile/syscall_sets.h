// Named syscall groups, in the spirit of systemd's SystemCallFilter= sets.
//
// The @baseline group is what every session denies unless its profile
// removes part of it with `syscalls.allow`: the well-known ways out of a
// sandbox (io_uring, which bypasses seccomp and the syscall tracepoints;
// ptrace and friends; bpf; the mount API; module and kexec loading; the
// keyring; userfaultfd, the classic race amplifier; perf; user namespaces).
//
// A few entries are not plain syscalls but argument-filtered rules, written
// with a leading '%':
//   %clone-namespaces    clone()/unshare() with any CLONE_NEW* flag
//   %clone3              clone3(), answered ENOSYS: its flags live in user
//                        memory seccomp cannot read, and glibc falls back to
//                        clone() on ENOSYS, where the flags can be checked
//   %leases              fcntl(F_SETLEASE)
//   %dnotify             fcntl(F_NOTIFY)
//   %personality         personality() other than PER_LINUX, PER_LINUX32 and
//                        the 0xffffffff query (READ_IMPLIES_EXEC,
//                        ADDR_NO_RANDOMIZE... weaken the agent's own process)
//   %tty-injection       ioctl TIOCSTI/TIOCLINUX: pushing keystrokes into a
//                        terminal; TIOCSETD: changing a terminal's line
//                        discipline (which loads its kernel module where
//                        dev.tty.ldisc_autoload allows). The agent's terminal
//                        is its own (runner/agent_terminal.h); these stay
//                        refused as a second layer, and for terminals a
//                        profile brings in
//   %socket-families     socket()/socketpair() of any family but AF_UNIX,
//                        AF_INET, AF_INET6, and AF_NETLINK other than
//                        NETLINK_ROUTE (what getaddrinfo() needs): packet,
//                        vsock, bluetooth, other netlink... (the cgroup BPF
//                        socket hook only sees IPv4/IPv6 sockets)
#pragma once

#include <set>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sandboxd {

struct SyscallGroup {
    std::string_view name;  // "@mount"
    std::string_view description;
    std::span<const std::string_view> members;  // syscalls, @groups, %rules
};

std::span<const SyscallGroup> syscall_groups();
const SyscallGroup* find_syscall_group(std::string_view name);

// True when the name is a syscall of the native architecture (by
// base/syscall_names.h, which knows a few newer than libseccomp).
bool is_native_syscall(std::string_view name);

// Expands one entry (a syscall name or @group) into syscall names and %rules.
// Group members that do not exist on this architecture are skipped; an entry
// naming an unknown syscall or group is an error.
Status expand_syscall_entry(std::string_view entry, std::set<std::string>& out);

}  // namespace sandboxd
