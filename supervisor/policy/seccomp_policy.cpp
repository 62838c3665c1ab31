#include "policy/seccomp_policy.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>

#include <functional>
#include <memory>
#include <vector>

#include "base/file_io.h"
#include "base/syscall_names.h"
#include "profile/syscall_sets.h"

namespace sandboxd {
namespace {

struct CtxDeleter {
    void operator()(void* ctx) const { seccomp_release(ctx); }
};
using SeccompCtx = std::unique_ptr<void, CtxDeleter>;

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
// personality() values a normal program uses: PER_LINUX, PER_LINUX32 and the
// 0xffffffff query. The kernel truncates the argument to 32 bits, so the
// filter must compare the low 32 bits and refuse anything with the high
// bits set (otherwise 0x1_0040_0000 would slip past as "not 0x0040_0000").
constexpr uint32_t kPerLinux32 = 0x0008;

Status add(void* ctx, uint32_t action, const char* name, std::initializer_list<scmp_arg_cmp> args = {}) {
    int nr = syscall_number(name);
    if (nr < 0) return {};  // not on this architecture: nothing to deny
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                    args.size() ? std::data(args) : nullptr);
    if (rc < 0) return Error{-rc, std::string("cannot add seccomp rule for ") + name};
    return {};
}

// An argument-shaped rule, each of its syscalls with the action `action`
// gives it (the call's name).
Status add_special(void* ctx, const std::string& rule, const std::function<uint32_t(const char*)>& action) {
    if (rule == "%clone-namespaces") {
        for (uint64_t bit = 1; bit; bit <<= 1) {
            if (!(kNamespaceFlags & bit)) continue;
            SANDBOXD_TRY(add(ctx, action("clone"), "clone", {SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit)}));
            SANDBOXD_TRY(add(ctx, action("unshare"), "unshare", {SCMP_A0(SCMP_CMP_MASKED_EQ, bit, bit)}));
        }
        // CLONE_NEWTIME: unshare() only (in clone()'s flags that bit is part
        // of the exit signal).
        return add(ctx, action("unshare"), "unshare", {SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80, 0x80)});
    }
    if (rule == "%clone3") return add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3");
    if (rule == "%tty-injection") {
        for (uint64_t cmd : {uint64_t(TIOCSTI), uint64_t(TIOCLINUX), uint64_t(TIOCSETD)})
            SANDBOXD_TRY(add(ctx, action("ioctl"), "ioctl", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, cmd)}));
        return {};
    }
    if (rule == "%leases") {
        // F_SETLEASE (the kernel compares the command's low 32 bits).
        return add(ctx, action("fcntl"), "fcntl", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, 1024)});
    }
    if (rule == "%dnotify") return add(ctx, action("fcntl"), "fcntl", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, 1026)});
    if (rule == "%inode-flags") {
        // FS_IOC_SETFLAGS, its 32-bit twin, FS_IOC_FSSETXATTR,
        // FS_IOC_SETVERSION and its twin (the inode's generation, which a
        // descriptor open for reading may set); and file_setattr (Linux
        // 6.17), the same by path.
        for (uint64_t cmd : {uint64_t(0x40086602), uint64_t(0x40046602), uint64_t(0x401c5820), uint64_t(0x40087602),
                             uint64_t(0x40047602)})
            SANDBOXD_TRY(add(ctx, action("ioctl"), "ioctl", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, cmd)}));
        return add(ctx, action("file_setattr"), "file_setattr");
    }
    if (rule == "%socket-families") {
        // Allowed: AF_UNIX 1, AF_INET 2, AF_INET6 10, AF_NETLINK 16 with
        // protocol 0. One comparison per argument and rule, so the allow-list
        // is written as its complement; any value with high bits set is
        // above 17 and refused, so truncation by the kernel cannot help.
        for (const char* call : {"socket", "socketpair"}) {
            SANDBOXD_TRY(add(ctx, action(call), call, {SCMP_A0(SCMP_CMP_GE, 17)}));
            for (uint64_t family : {0, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15})
                SANDBOXD_TRY(add(ctx, action(call), call, {SCMP_A0(SCMP_CMP_EQ, family)}));
            SANDBOXD_TRY(add(ctx, action(call), call, {SCMP_A0(SCMP_CMP_EQ, 16), SCMP_A2(SCMP_CMP_NE, 0)}));
        }
        // IPv4 and IPv6 with protocol 0, TCP (6) or UDP (17) only. Any other
        // makes the kernel load the protocol's module, where it has one
        // (SCTP, DCCP, L2TP...), before any hook of the session sees the
        // socket: code the host never asked for, for the agent to attack.
        // socketpair() too: the kernel makes both sockets (and loads the
        // module) before it finds IPv4 has no pairs to give.
        for (const char* call : {"socket", "socketpair"})
            for (uint64_t family : {2, 10}) {
                SANDBOXD_TRY(add(ctx, action(call), call, {SCMP_A0(SCMP_CMP_EQ, family), SCMP_A2(SCMP_CMP_GT, 17)}));
                for (uint64_t protocol = 1; protocol < 17; ++protocol)
                    if (protocol != 6)
                        SANDBOXD_TRY(add(ctx, action(call), call,
                                         {SCMP_A0(SCMP_CMP_EQ, family), SCMP_A2(SCMP_CMP_EQ, protocol)}));
            }
        // SOCK_PACKET on IPv4/IPv6: the kernel makes it a packet socket
        // (AF_PACKET), loading that family's module first. The type's low
        // four bits; the rest are flags.
        for (const char* call : {"socket", "socketpair"})
            for (uint64_t family : {2, 10})
                SANDBOXD_TRY(add(ctx, action(call), call,
                                 {SCMP_A0(SCMP_CMP_EQ, family), SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, 10 /* SOCK_PACKET */)}));
        // Socket ioctls that load a module by name before anything checks
        // the caller: the bridge's (SIOCGIFBR, SIOCSIFBR, SIOCBRADDBR,
        // SIOCBRDELBR) and 802.1Q's (SIOCGIFVLAN, SIOCSIFVLAN), on any
        // socket (helper 42). Low 32 bits, as the kernel reads them.
        for (uint64_t cmd : {0x8940u, 0x8941u, 0x89a0u, 0x89a1u, 0x8982u, 0x8983u})
            SANDBOXD_TRY(add(ctx, action("ioctl"), "ioctl", {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, cmd)}));
        // Socket options that send packets elsewhere than the address the
        // connect and sendmsg hooks judged (IPv6 routing, hop-by-hop and
        // destination option headers: a routing header's first segment
        // becomes the destination), or that put bytes the agent chose on
        // the link with no address at all (multicast joins: the groups go
        // out in IGMP and MLD reports). The egress hook drops such packets
        // as well; these never get that far. The kernel reads level and
        // name as ints: only their low 32 bits are compared.
        constexpr uint64_t kIp = 0, kIpv6 = 41;
        constexpr std::pair<uint64_t, uint64_t> kOptions[] = {
            {kIp, 35 /* IP_ADD_MEMBERSHIP */},      {kIp, 39 /* IP_ADD_SOURCE_MEMBERSHIP */},
            {kIp, 42 /* MCAST_JOIN_GROUP */},       {kIp, 46 /* MCAST_JOIN_SOURCE_GROUP */},
            {kIpv6, 3 /* IPV6_2292HOPOPTS */},      {kIpv6, 4 /* IPV6_2292DSTOPTS */},
            {kIpv6, 5 /* IPV6_2292RTHDR */},        {kIpv6, 6 /* IPV6_2292PKTOPTIONS */},
            {kIpv6, 20 /* IPV6_ADD_MEMBERSHIP */},  {kIpv6, 27 /* IPV6_JOIN_ANYCAST */},
            {kIpv6, 42 /* MCAST_JOIN_GROUP */},     {kIpv6, 46 /* MCAST_JOIN_SOURCE_GROUP */},
            {kIpv6, 54 /* IPV6_HOPOPTS */},         {kIpv6, 55 /* IPV6_RTHDRDSTOPTS */},
            {kIpv6, 57 /* IPV6_RTHDR */},           {kIpv6, 59 /* IPV6_DSTOPTS */},
            // And an upper layer protocol on a TCP socket, loaded as a module
            // by name where the kernel has one ("tls").
            {6 /* SOL_TCP */, 31 /* TCP_ULP */}};
        for (auto [level, name] : kOptions)
            SANDBOXD_TRY(add(ctx, action("setsockopt"), "setsockopt",
                             {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, level),
                              SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, name)}));
        return {};
    }
    if (rule == "%personality") {
        // libseccomp allows one comparison per argument in a rule, so the
        // allow-list {0, 8, 0xffffffff} is written as its complement:
        //   high bits set                          -> deny
        //   bit 0 clear and any bit i (not 3) set  -> deny (not 0, 8, ~0)
        //   bit 0 set and any bit k clear          -> deny (not ~0)
        SANDBOXD_TRY(add(ctx, action("personality"), "personality", {SCMP_A0(SCMP_CMP_GT, 0xffffffffull)}));
        for (int i = 1; i < 32; ++i) {
            uint64_t bit = 1ull << i;
            if (bit != kPerLinux32)
                SANDBOXD_TRY(add(ctx, action("personality"), "personality", {SCMP_A0(SCMP_CMP_MASKED_EQ, bit | 1, bit)}));
            SANDBOXD_TRY(add(ctx, action("personality"), "personality", {SCMP_A0(SCMP_CMP_MASKED_EQ, bit | 1, 1)}));
        }
        return {};
    }
    return plain_error("unknown seccomp rule " + rule);
}

// The syscalls an argument-shaped rule refuses some calls of.
std::vector<const char*> special_calls(const std::string& rule) {
    if (rule == "%clone-namespaces") return {"clone", "unshare"};
    if (rule == "%clone3") return {"clone3"};
    if (rule == "%tty-injection") return {"ioctl"};
    if (rule == "%inode-flags") return {"ioctl", "file_setattr"};
    if (rule == "%leases" || rule == "%dnotify") return {"fcntl"};
    if (rule == "%socket-families") return {"socket", "socketpair", "setsockopt", "ioctl"};
    if (rule == "%personality") return {"personality"};
    return {};
}

// Whether the gate hears of a refusal of `call` by `rule` (a gated program
// only). Not clone3: glibc tries it for every thread it starts and falls
// back to clone, so a line each would be noise and a round trip each a
// cost. Not a call the profile also denies whole: that rule refuses all of
// its calls, and libseccomp keeps no argument-shaped rule beside it.
bool refusal_to_gate(const SeccompProgram& p, const std::string& rule, const char* call) {
    if (!p.gated || rule == "%clone3") return false;
    return !rule.starts_with('%') || (!p.denied.count(call) && !p.logged.count(call));
}

uint32_t action_for(const std::string& name, bool log_only) {
    if (log_only) return SCMP_ACT_LOG;
    // Programs probe io_uring and fall back to ordinary I/O when the kernel
    // says it does not exist; EPERM would make some of them give up instead.
    if (name.starts_with("io_uring")) return SCMP_ACT_ERRNO(ENOSYS);
    // The same for memfd_create: programs then use a file in /dev/shm or
    // /tmp, which are noexec in a session.
    if (name == "memfd_create") return SCMP_ACT_ERRNO(ENOSYS);
    return SCMP_ACT_ERRNO(EPERM);
}

// Set-uid and set-gid files. The session's own mounts are nosuid, the
// host's are not: a set-uid copy of a program left in a write tree runs as
// the agent's user for every other account on the host. No session makes
// one, whatever its profile: the calls that set the bits on a file
// (chmod, and the mode of a create: open, creat, mknod) are refused where
// they carry one. Where the snapshot gate listens it gets them instead, and
// refuses the chmod and makes the file without the bits (metadata_ops,
// create_ops, write_ops); elsewhere EPERM, journaled by a connect gate as
// the rule "set-id files". Directories keep set-gid (mkdir is not here).
struct SetIdCall {
    const char* name;
    int nr;                // for calls newer than libseccomp's names; else -1
    unsigned mode_arg;
    int flags_arg;         // opens: the bits that make them use the mode; else -1
    bool gate_takes_all;   // the gate's rules send it every call of this syscall
};
constexpr SetIdCall kSetIdCalls[] = {
    {"chmod", -1, 1, -1, true},     {"fchmod", -1, 1, -1, true},  {"fchmodat", -1, 2, -1, true},
    {"fchmodat2", 452, 2, -1, true}, {"creat", -1, 1, -1, true},  {"mknod", -1, 1, -1, false},
    {"mknodat", -1, 2, -1, false},  {"open", -1, 2, 1, false},    {"openat", -1, 3, 2, false},
};
constexpr const char* kSetIdRule = "set-id files";

// Whether the program sends kSetIdCalls' set-id calls to the gate as
// refusals (a gate that handles no file syscall), rather than as calls.
bool set_id_refusals_to_gate(const SeccompProgram& p) { return p.gated && !p.destructive_gate; }

// What the gate answers for each refusal it hears of: the errno the
// filter's own action would have given.
void list_refusals(SeccompProgram& p) {
    p.refusals.clear();
    for (const auto& rule : p.denied) {
        if (!rule.starts_with('%')) {
            int nr = syscall_number(rule);
            if (nr >= 0 && refusal_to_gate(p, rule, rule.c_str()))
                p.refusals[nr] = {int(action_for(rule, false) & SECCOMP_RET_DATA), rule};
            continue;
        }
        for (const char* call : special_calls(rule)) {
            int nr = syscall_number(call);
            if (nr < 0 || !refusal_to_gate(p, rule, call)) continue;
            auto [at, added] = p.refusals.try_emplace(nr, SyscallRefusal{EPERM, rule});
            if (!added) at->second.rule += " or " + rule;  // ioctl: two rules, told apart by the line's args
        }
    }
    if (set_id_refusals_to_gate(p))
        for (const SetIdCall& c : kSetIdCalls)
            if (int nr = c.nr >= 0 ? c.nr : syscall_number(c.name); nr >= 0)
                p.refusals.try_emplace(nr, SyscallRefusal{EPERM, kSetIdRule});  // a whole denial's stands
}

// The snapshot gate's share of the filter. A syscall the profile denies
// outright stays denied (libseccomp refuses two unconditional actions for
// one syscall, and denial is the stronger one anyway).
Status add_gate_rules(void* ctx, const SeccompProgram& p) {
    auto taken = [&](const char* name) { return p.denied.count(name) || p.logged.count(name); };
    // link/linkat: a new name of an old file is the agent's to take away on
    // rollback, which needs its record (git makes every loose object so).
    for (const char* name : {"unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat", "truncate",
                             "ftruncate", "creat", "chmod", "fchmod", "fchmodat", "chown",
                             "lchown", "fchown", "fchownat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
                             "lremovexattr", "fremovexattr"})
        if (!taken(name)) SANDBOXD_TRY(add(ctx, SCMP_ACT_NOTIFY, name));
    // Newer variants this libseccomp may not know by name would pass the
    // gate by: fchmodat2 (452), setxattrat (463), removexattrat (466),
    // file_setattr (469). ENOSYS, and callers fall back to the old ones
    // (469 is the %inode-flags rule's already where the baseline has it:
    // EEXIST, and that rule's refusal stands).
    for (int nr : {452, 463, 466, 469}) {
        int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0, nullptr);
        if (rc < 0 && rc != -EEXIST) return Error{-rc, "cannot add seccomp rule for syscall " + std::to_string(nr)};
    }
    // Opens that can change an existing file: O_TRUNC, or write access
    // unless both O_CREAT and O_EXCL are set (then the open can only
    // create). O_EXCL alone is no such promise: without O_CREAT the kernel
    // ignores it and opens the existing file for writing. Reads and
    // exclusive creates never stop.
    const uint64_t mask = O_ACCMODE | O_CREAT | O_EXCL;
    for (const char* name : {"open", "openat"}) {
        if (taken(name)) continue;
        unsigned arg = std::string_view(name) == "open" ? 1 : 2;
        SANDBOXD_TRY(add(ctx, SCMP_ACT_NOTIFY, name, {SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, O_TRUNC, O_TRUNC)}));
        for (uint64_t access : {uint64_t(O_WRONLY), uint64_t(O_RDWR), uint64_t(O_ACCMODE)})
            for (uint64_t creation : {uint64_t(0), uint64_t(O_CREAT), uint64_t(O_EXCL)})
                SANDBOXD_TRY(
                    add(ctx, SCMP_ACT_NOTIFY, name, {SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, access | creation)}));
        // Where names are guarded, every open that can make one.
        if (p.create_gate)
            SANDBOXD_TRY(add(ctx, SCMP_ACT_NOTIFY, name, {SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT)}));
    }
    if (!taken("openat2")) SANDBOXD_TRY(add(ctx, SCMP_ACT_ERRNO(ENOSYS), "openat2"));
    if (p.create_gate)
        for (const char* name : {"mkdir", "mkdirat", "mknod", "mknodat", "symlink", "symlinkat", "bind"})
            if (!taken(name)) SANDBOXD_TRY(add(ctx, SCMP_ACT_NOTIFY, name));
    if (!taken("fallocate"))
        for (uint64_t mode : {0x02u /* PUNCH_HOLE */, 0x08u /* COLLAPSE_RANGE */, 0x10u /* ZERO_RANGE */})
            SANDBOXD_TRY(add(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), "fallocate", {SCMP_A1(SCMP_CMP_MASKED_EQ, mode, mode)}));
    return {};
}

Status add_set_id_rules(void* ctx, const SeccompProgram& p) {
    // A syscall the profile denies whole is refused already (and libseccomp
    // keeps no argument-shaped rule beside it).
    auto taken = [&](const char* name) { return p.denied.count(name) || p.logged.count(name); };
    uint32_t action = p.destructive_gate || p.gated ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(EPERM);
    for (const SetIdCall& c : kSetIdCalls) {
        if (taken(c.name)) continue;
        if (p.destructive_gate && (c.gate_takes_all || (p.create_gate && c.flags_arg < 0))) continue;
        int nr = c.nr >= 0 ? c.nr : syscall_number(c.name);
        if (nr < 0) continue;
        // __O_TMPFILE: an O_TMPFILE open uses the mode too (linkat names it).
        std::vector<uint64_t> makes = {0};
        if (c.flags_arg >= 0) makes = {uint64_t(O_CREAT), uint64_t(__O_TMPFILE)};
        for (uint64_t bit : {uint64_t(S_ISUID), uint64_t(S_ISGID)})
            for (uint64_t make : makes) {
                std::vector<scmp_arg_cmp> cmp = {SCMP_CMP(c.mode_arg, SCMP_CMP_MASKED_EQ, bit, bit)};
                if (make) cmp.push_back(SCMP_CMP(unsigned(c.flags_arg), SCMP_CMP_MASKED_EQ, make, make));
                int rc = seccomp_rule_add_array(ctx, action, nr, unsigned(cmp.size()), cmp.data());
                if (rc < 0) return Error{-rc, std::string("cannot add seccomp rule for ") + c.name};
            }
    }
    return {};
}

// The effective sets, which are all the compiled program depends on.
Status effective_sets(const SyscallRules& rules, bool audit, SeccompProgram& out) {
    std::set<std::string> baseline, extra, allowed;
    SANDBOXD_TRY(expand_syscall_entry("@baseline", baseline));
    for (const auto& d : rules.deny) SANDBOXD_TRY(expand_syscall_entry(d, extra));
    for (const auto& a : rules.allow) SANDBOXD_TRY(expand_syscall_entry(a, allowed));

    for (const auto& s : baseline)
        if (!allowed.count(s)) out.denied.insert(s);
    // Audit mode logs a profile's denial with a rule on the whole syscall,
    // and libseccomp drops every argument-shaped rule on a syscall that has
    // one: the baseline's %rules (unshare of a user namespace, TIOCSTI)
    // and the gate's opens and fallocate modes would go with it. Such a
    // denial is left out of the audit (the baseline's rule holds).
    std::set<std::string> shaped = {"open", "openat", "fallocate"};
    for (const auto& s : out.denied)
        for (const char* call : special_calls(s)) shaped.insert(call);
    // And the two newer calls that would make set-id files past the gate,
    // which answers them ENOSYS: fchmodat2, and openat2, whose mode the
    // filter cannot read. Let through to be logged, they made a set-uid
    // file (helper 42). (The older ones go to the gate, which refuses or
    // strips the bits in audit mode too.)
    for (const char* call : {"fchmodat2", "openat2"}) shaped.insert(call);
    for (const auto& s : extra) {
        if (allowed.count(s) || out.denied.count(s)) continue;
        if (audit && shaped.count(s)) out.unlogged.insert(s);
        else (audit ? out.logged : out.denied).insert(s);
    }
    return {};
}

Status generate(SeccompProgram& out) {
    SeccompCtx ctx(seccomp_init(SCMP_ACT_ALLOW));
    if (!ctx) return plain_error("cannot initialise libseccomp");
    // Foreign ABIs (ia32 via int 0x80, x32) get their own syscall numbers;
    // a filter written for x86_64 numbers would misread them. Refuse them
    // all with ENOSYS, as a kernel without that ABI would.
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS)); rc < 0)
        return Error{-rc, "cannot set seccomp bad-arch action"};
    // The program is installed by hand in the child, after no_new_privs.
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0)
        return Error{-rc, "cannot clear seccomp NNP attribute"};
    // A binary tree of syscall numbers: cost grows with log(rules), not rules.
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
        return Error{-rc, "cannot enable seccomp binary-tree optimisation"};

    // Refusals go to the gate where it listens, to be journaled and
    // answered with the same errno (list_refusals).
    const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
    for (const auto& s : out.denied) {
        auto action = [&](const char* call) {
            return refusal_to_gate(out, s, call) ? SCMP_ACT_NOTIFY : s.starts_with('%') ? eperm : action_for(s, false);
        };
        if (s.starts_with('%')) SANDBOXD_TRY(add_special(ctx.get(), s, action));
        else SANDBOXD_TRY(add(ctx.get(), action(s.c_str()), s.c_str()));
    }
    // Audit mode: the profile's own denials are let through and recorded.
    // With the snapshot gate listening (always, in audit mode) a plain
    // syscall goes to it, which journals it with the rule and lets it run;
    // argument-shaped rules go to the kernel's audit log (SCMP_ACT_LOG).
    for (const auto& s : out.logged) {
        if (s.starts_with('%')) SANDBOXD_TRY(add_special(ctx.get(), s, [](const char*) { return SCMP_ACT_LOG; }));
        else SANDBOXD_TRY(add(ctx.get(), out.gated ? SCMP_ACT_NOTIFY : action_for(s, true), s.c_str()));
    }

    if (out.destructive_gate) SANDBOXD_TRY(add_gate_rules(ctx.get(), out));
    SANDBOXD_TRY(add_set_id_rules(ctx.get(), out));
    // connect() for pathname unix sockets, bind() for unix sockets' names
    // (a pathname's file, an abstract name the host shares), and inotify
    // watches (only on what the agent may read: Landlock sees no open in
    // them): the gate's.
    for (const char* call : {"connect", "bind", "inotify_add_watch"})
        if (out.gated && !out.denied.count(call) && !out.logged.count(call) &&
            !(std::string_view(call) == "bind" && out.create_gate))
            SANDBOXD_TRY(add(ctx.get(), SCMP_ACT_NOTIFY, call));

    UniqueFd mem(::memfd_create("sandboxd-seccomp", MFD_CLOEXEC));
    if (!mem) return errno_error("cannot create memfd for the seccomp program");
    if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc < 0)
        return Error{-rc, "cannot export the seccomp program"};
    if (::lseek(mem.get(), 0, SEEK_SET) < 0) return errno_error("cannot rewind seccomp memfd");
    auto bytes = read_fd(mem.get());
    if (!bytes) return bytes.error();
    if (bytes->empty() || bytes->size() % sizeof(sock_filter) != 0 ||
        bytes->size() / sizeof(sock_filter) > BPF_MAXINSNS)
        return plain_error("libseccomp produced a malformed program");
    out.insns.resize(bytes->size() / sizeof(sock_filter));
    std::memcpy(out.insns.data(), bytes->data(), bytes->size());
    return {};
}

// FNV-1a over the text that determines the program.
std::string cache_key(const SeccompProgram& p) {
    const scmp_version* v = seccomp_version();
    // The build stamp changes whenever this file (the generator) does; the
    // version, when that is frozen (SOURCE_DATE_EPOCH): raise it with any
    // change to what a rule set compiles to.
    constexpr const char* kGeneratorVersion = "gen 8 ";
    std::string text = std::string(__DATE__ " " __TIME__ " ") + kGeneratorVersion + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                       std::to_string(v->micro) + " arch " + std::to_string(seccomp_arch_native()) + " deny";
    for (const auto& s : p.denied) text += " " + s;
    text += p.destructive_gate ? " gate" : "";
    text += p.create_gate ? " create-gate" : "";
    text += p.gated ? " connect-gate log" : " log";
    for (const auto& s : p.logged) text += " " + s;
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    char buf[17];
    snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const SyscallRules& rules, bool audit, bool gate, bool connect_gate,
                                       bool create_gate) {
    SeccompProgram out;
    out.gated = gate || connect_gate;
    out.destructive_gate = gate;
    out.create_gate = gate && create_gate;
    SANDBOXD_TRY(effective_sets(rules, audit, out));
    list_refusals(out);
    SANDBOXD_TRY(generate(out));
    return out;
}

Result<SeccompProgram> compile_seccomp_cached(const SyscallRules& rules, bool audit, bool gate, bool connect_gate,
                                              bool create_gate, const std::string& cache_dir) {
    SeccompProgram out;
    out.gated = gate || connect_gate;
    out.destructive_gate = gate;
    out.create_gate = gate && create_gate;
    SANDBOXD_TRY(effective_sets(rules, audit, out));
    list_refusals(out);
    std::string path = cache_dir + "/seccomp-" + cache_key(out) + ".bpf";
    if (auto bytes = read_file(path); bytes && !bytes->empty() &&
                                      bytes->size() % sizeof(sock_filter) == 0 &&
                                      bytes->size() / sizeof(sock_filter) <= BPF_MAXINSNS) {
        out.insns.resize(bytes->size() / sizeof(sock_filter));
        std::memcpy(out.insns.data(), bytes->data(), bytes->size());
        return out;
    }
    SANDBOXD_TRY(generate(out));
    // A cache that cannot be written costs speed, not safety.
    if (make_dirs(cache_dir, 0700).ok()) {
        std::string_view raw(reinterpret_cast<const char*>(out.insns.data()),
                             out.insns.size() * sizeof(sock_filter));
        (void)write_file_atomic(path, raw, 0600);
    }
    return out;
}

}  // namespace sandboxd
