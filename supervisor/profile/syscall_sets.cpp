#include "profile/syscall_sets.h"

#include "base/syscall_names.h"

namespace sandboxd {
namespace {

using SV = std::string_view;

constexpr SV kIoUring[] = {"io_uring_setup", "io_uring_enter", "io_uring_register"};
constexpr SV kDebug[] = {"ptrace", "process_vm_readv", "process_vm_writev", "perf_event_open",
                         "pidfd_getfd", "lookup_dcookie"};
constexpr SV kBpf[] = {"bpf"};
constexpr SV kMount[] = {"mount",   "umount",  "umount2", "pivot_root", "move_mount",
                         "open_tree", "open_tree_attr", "fsopen", "fsconfig", "fsmount",
                         "fspick", "mount_setattr", "chroot"};
constexpr SV kModule[] = {"init_module", "finit_module", "delete_module"};
constexpr SV kReboot[] = {"reboot", "kexec_load", "kexec_file_load"};
constexpr SV kKeyring[] = {"keyctl", "add_key", "request_key"};
constexpr SV kSwap[] = {"swapon", "swapoff"};
constexpr SV kRawIo[] = {"iopl", "ioperm", "pciconfig_iobase", "pciconfig_read",
                         "pciconfig_write"};
constexpr SV kClock[] = {"settimeofday", "clock_settime", "clock_adjtime", "adjtimex"};
constexpr SV kObsolete[] = {"_sysctl", "afs_syscall", "bdflush", "break", "create_module",
                            "ftime", "get_kernel_syms", "getpmsg", "gtty", "idle", "lock",
                            "mpx", "prof", "profil", "putpmsg", "query_module", "security",
                            "sgetmask", "ssetmask", "stty", "sysfs", "tuxcall", "ulimit",
                            "uselib", "ustat", "vserver", "nfsservctl"};
constexpr SV kCpuEmulation[] = {"modify_ldt", "vm86", "vm86old", "subpage_prot",
                                "switch_endian"};
constexpr SV kUserfaultfd[] = {"userfaultfd"};
// open_by_handle_at walks from a file handle, not a path: the "shocker"
// container escape. It needs CAP_DAC_READ_SEARCH, which the agent never has,
// but a filter that names it does not depend on that staying true.
constexpr SV kHandles[] = {"open_by_handle_at"};
constexpr SV kNamespaces[] = {"%clone-namespaces", "%clone3", "setns"};
// A memfd lives on the kernel's own shmem mount, which is never noexec:
// vm.memfd_noexec stops execve() of it, but the dynamic loader maps it as
// code all the same (ld.so /proc/self/fd/N), outside every exec tree.
constexpr SV kMemfd[] = {"memfd_create"};
// Unprivileged fanotify (inode marks, names reported) watches any file the
// agent can name, outside its read scope too: Landlock sees no open. And
// dnotify (fcntl F_NOTIFY) on a directory it may list: a signal for every
// read or write of an entry in it, hidden ones too (/etc/shadow).
constexpr SV kFanotify[] = {"fanotify_init", "fanotify_mark", "%dnotify"};
// A lease on a file makes every other process's open of it wait for the
// holder, up to fs.lease-break-time (45 s): the agent owns files the host
// reads (the user's own, in the read scope) and would stall whoever opens
// them, root included.
constexpr SV kLeases[] = {"%leases"};
constexpr SV kPersonality[] = {"%personality"};
constexpr SV kSocketFamilies[] = {"%socket-families"};
constexpr SV kTtyInjection[] = {"%tty-injection"};
// chattr: inode flags (nodump, noatime, no copy-on-write...) are no part of
// any undo record, so rollback could not set them back.
constexpr SV kInodeFlags[] = {"%inode-flags"};
constexpr SV kPrivileged[] = {"@clock",   "@module",   "@raw-io",    "@reboot",  "@swap",
                              "@mount",   "acct",      "capset",     "chown",    "fchown",
                              "fchownat", "lchown",    "setuid",     "setgid",   "setreuid",
                              "setregid", "setresuid", "setresgid",  "setgroups", "setfsuid",
                              "setfsgid", "sethostname", "setdomainname", "quotactl",
                              "vhangup",  "fanotify_init", "open_by_handle_at"};
constexpr SV kBaseline[] = {"@io-uring",   "@debug",         "@bpf",       "@mount",
                            "@module",     "@reboot",        "@keyring",   "@swap",
                            "@raw-io",     "@clock",         "@obsolete",  "@cpu-emulation",
                            "@userfaultfd", "@handles",      "@namespaces", "@personality",
                            "@tty-injection", "@inode-flags", "@socket-families", "@memfd",
                            "@fanotify",  "@leases"};

constexpr SyscallGroup kGroups[] = {
    {"@baseline", "denied in every session unless the profile allows part of it", kBaseline},
    {"@io-uring", "io_uring: bypasses seccomp and the syscall tracepoints", kIoUring},
    {"@debug", "ptrace, cross-process memory access, perf", kDebug},
    {"@bpf", "loading BPF programs and maps", kBpf},
    {"@mount", "mounting, unmounting, changing root", kMount},
    {"@module", "loading and unloading kernel modules", kModule},
    {"@reboot", "rebooting and kexec", kReboot},
    {"@keyring", "the kernel keyring", kKeyring},
    {"@swap", "enabling and disabling swap", kSwap},
    {"@raw-io", "raw I/O port access", kRawIo},
    {"@clock", "setting the system clock", kClock},
    {"@obsolete", "syscalls no modern program needs", kObsolete},
    {"@cpu-emulation", "LDT and vm86 tricks", kCpuEmulation},
    {"@userfaultfd", "userfaultfd, used to widen kernel race windows", kUserfaultfd},
    {"@handles", "opening files by handle instead of path", kHandles},
    {"@namespaces", "creating or joining namespaces (incl. user namespaces)", kNamespaces},
    {"@personality", "personality flags that weaken the process", kPersonality},
    {"@tty-injection", "injecting input into the controlling terminal", kTtyInjection},
    {"@inode-flags", "setting inode flags (chattr), which rollback cannot undo", kInodeFlags},
    {"@socket-families", "sockets other than unix, IPv4, IPv6 and route netlink", kSocketFamilies},
    {"@memfd", "memory-backed files, which the dynamic loader maps as code outside every exec tree", kMemfd},
    {"@fanotify", "watching files by fanotify, also outside the read scope, and by dnotify", kFanotify},
    {"@leases", "file leases, which make every other opener of the file wait", kLeases},
    {"@privileged", "operations that need privileges the agent does not have", kPrivileged},
};

Status expand(std::string_view entry, std::set<std::string>& out, int depth) {
    if (depth > 8) return plain_error("syscall groups nest too deeply");
    if (entry.starts_with('%')) {
        // %rules are internal; a profile names them through their groups.
        if (depth == 0) return plain_error("unknown syscall '" + std::string(entry) + "'");
        out.insert(std::string(entry));
        return {};
    }
    if (entry.starts_with('@')) {
        const SyscallGroup* g = find_syscall_group(entry);
        if (!g) return plain_error("unknown syscall group '" + std::string(entry) + "'");
        for (SV m : g->members) {
            if (!m.starts_with('@') && !m.starts_with('%') && !is_native_syscall(m)) continue;
            SANDBOXD_TRY(expand(m, out, depth + 1));
        }
        return {};
    }
    if (!is_native_syscall(entry))
        return plain_error("unknown syscall '" + std::string(entry) + "'");
    out.insert(std::string(entry));
    return {};
}

}  // namespace

std::span<const SyscallGroup> syscall_groups() { return kGroups; }

const SyscallGroup* find_syscall_group(std::string_view name) {
    for (const auto& g : kGroups)
        if (g.name == name) return &g;
    return nullptr;
}

bool is_native_syscall(std::string_view name) { return syscall_number(name) >= 0; }

Status expand_syscall_entry(std::string_view entry, std::set<std::string>& out) {
    return expand(entry, out, 0);
}

}  // namespace sandboxd
