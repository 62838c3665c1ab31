// `sandbox-run --explain`: for each part of the profile, the kernel layer
// that enforces it on this host, or a plain statement that nothing does.
#include <seccomp.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "base/path_trust.h"
#include "base/paths.h"
#include "base/terminal_text.h"
#include "cgroup/layout.h"
#include "landlock/abi.h"
#include "landlock/policy.h"
#include "launch/identity.h"
#include "mounts/aliases.h"
#include "mounts/plan.h"
#include "bpf/net_plan.h"
#include "session/dirs.h"
#include "policy/seccomp_policy.h"
#include "profile/loader.h"
#include "runner/plan.h"
#include "runner/run_session.h"

namespace sandboxd {
namespace {

// Names in a row may be an agent's to choose (a protected path found
// through its link, a workspace it made): made inert for the terminal, as
// every message of sandbox-run is, and never cut short.
std::string row(std::string_view layer, std::string_view part, std::string_view status) {
    auto padded = [](std::string text, size_t width) {
        if (text.size() < width) text.append(width - text.size(), ' ');
        return text;
    };
    return "  " + padded(std::string(layer), 12) + " " + padded(terminal_safe(part), 38) + " " + terminal_safe(status) +
           "\n";
}


}  // namespace

ExitStatus explain_session(const RunOptions& opts) {
    auto id = resolve_identity(opts.user);
    if (!id) return {125, id.error().describe()};
    // As sandbox-run would take it, or refuse it (runner/plan.cpp).
    auto resolved = resolve_workspace(opts.workspace, *id);
    if (!resolved) return {125, resolved.error().describe()};
    const std::string& ws = *resolved;
    auto profile = ProfileLoader::with_default_path().load(opts.profile,
                                                           ProfileVars{ws, id->home, id->uid, id->gid, id->groups});
    if (!profile) return {125, profile.error().describe()};
    hide_under_every_mount(*profile);
    SandboxdDirs dirs = SandboxdDirs::from_env();
    MountPlan mp = plan_mounts(*profile, ws, {dirs.runtime, dirs.state}, opts.audit);
    bool gate = !profile->destroy.empty() || !profile->write.empty() || opts.audit || !mp.guarded.empty();
    auto prog = compile_seccomp(profile->syscalls, opts.audit, gate, true, !mp.guarded.empty());
    if (!prog) return {125, prog.error().describe()};
    auto cg = detect_cgroup_host();

    std::ostringstream o;
    o << "profile " << terminal_safe(profile->name) << " (" << terminal_safe(profile->source) << "), tier "
      << profile->tier << (opts.audit ? ", audit mode" : "") << "\nagent user " << terminal_safe(id->user) << " ("
      << id->uid << ":" << id->gid << "), workspace " << terminal_safe(ws) << "\n\n";
    const scmp_version* v = seccomp_version();
    o << row("seccomp", std::to_string(prog->denied.size()) + " syscalls/rules denied",
             "enforced: libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) +
                 "." + std::to_string(v->micro) + ", binary tree, " +
                 std::to_string(prog->insns.size()) + " instructions");
    if (!prog->refusals.empty())
        o << row("gate", "refused syscalls (" + std::to_string(prog->refusals.size()) + ")",
                 "journaled: each attempt's errno and rule (1st, 2nd, 4th... of each, and the total)");
    if (!prog->logged.empty())
        o << row("seccomp", std::to_string(prog->logged.size()) + " profile denials",
                 "audit mode: journaled as would-be denials by the gate, not denied");
    if (!prog->unlogged.empty()) {
        std::string names;
        for (const auto& n : prog->unlogged) names += (names.empty() ? "" : " ") + n;
        o << row("seccomp", std::to_string(prog->unlogged.size()) + " profile denials not audited",
                 "audit mode: neither logged nor denied (" + names + "): a rule on the whole syscall would take the "
                 "baseline's argument-shaped rule on it away, which holds");
    }
    o << row("seccomp", "foreign ABIs (ia32, x32)", "enforced: ENOSYS");
    if (gate)
        o << row("snapshots", "unlink/rmdir/rename/truncate/writes/chmod/chown/xattr",
                 "seccomp user notification: snapshot, then done by the gate as the agent; budget " +
                     std::to_string(profile->snapshots.budget_bytes) + " bytes");
    else
        o << row("snapshots", "no write or destroy trees", "no snapshot gate (nothing outside the session is changed)");
    o << row("privileges", "no_new_privs, no capabilities", "enforced: locked securebits, empty bounding set");
    if (cg) {
        o << row("cgroup v2", "session cgroup, freeze/kill switch",
                 "enforced: " + cg->v2_root + (cg->layout == CgroupLayout::Hybrid ? " (hybrid)" : ""));
        auto limit = [&](const char* name, bool set, const char* controller) {
            if (!set) {
                o << row("cgroup", std::string("limits.") + name,
                         std::string("NONE: the profile sets no ") + name + " limit ([limits] " + name + ")");
                return;
            }
            bool v1 = cg->v1_mounts.count(controller) > 0;
            bool v2 = cg->layout == CgroupLayout::Unified && cg->v2_controllers.count(controller) > 0;
            o << row("cgroup", std::string("limits.") + name,
                     v1 ? std::string("enforced: v1 ") + controller + " controller"
                        : v2 ? std::string("enforced: v2 ") + controller + " controller"
                             : std::string("NOT APPLIED: no ") + controller + " controller available");
        };
        limit("pids", profile->limits.pids.has_value(), "pids");
        limit("memory", profile->limits.memory_bytes.has_value(), "memory");
        limit("cpu", profile->limits.cpu_millicores.has_value(), "cpu");
    } else {
        o << row("cgroup v2", "session cgroup", "MISSING: " + cg.error().describe());
    }
    int abi = landlock_abi_version();
    LandlockPolicy ll = compile_landlock(*profile, abi, id->uid);
    if (opts.audit) {
        o << row("landlock", "filesystem and exec scopes", "NOT APPLIED: audit mode (Landlock cannot log instead of deny)");
    } else if (!ll.missing.empty()) {
        for (const auto& m : ll.missing) {
            bool accepted = accepts_missing(*profile, m.id);
            o << row("landlock", "filesystem scopes",
                     (accepted ? "WEAKER (accepted by the profile, " : "CANNOT ENFORCE (session refused unless the profile accepts ") +
                         m.id + "): " + m.what);
        }
    } else {
        o << row("landlock", "ABI " + std::to_string(abi), "enforced: " + std::to_string(ll.fs_rules.size()) + " path rules");
        // Rules granted entry by entry around hidden paths: the
        // directories listed, and how many entries in each.
        std::map<std::string, size_t> beside;
        for (const auto& r : ll.fs_rules)
            if (r.on_the_way) beside.try_emplace(r.path, 0);
        for (const auto& r : ll.fs_rules) {
            if (!r.beside_hidden || r.on_the_way) continue;
            auto dir = beside.find(parent_path(r.path));
            if (dir != beside.end()) ++dir->second;
        }
        for (const auto& r : ll.fs_rules) {
            if (r.why == "device" || (r.beside_hidden && !r.on_the_way)) continue;
            std::string what = r.why + ": " + r.path;
            if (r.on_the_way) what += " (and " + std::to_string(beside[r.path]) + " entries in it one by one)";
            o << row("", what, "");
        }
        std::string devs;
        for (const auto& r : ll.fs_rules)
            if (r.why == "device") devs += (devs.empty() ? "" : " ") + r.path;
        o << row("", "device: " + devs, "read/write, every session");
        if (ll.handled_net & landlock::kNetConnectTcp) {
            o << row("landlock", "TCP connect", ll.connect_ports.empty()
                                                    ? std::string("enforced: no TCP connections")
                                                    : "enforced: ports only (" + std::to_string(ll.connect_ports.size()) + ")");
        }
        if (ll.handled_net & landlock::kNetBindTcp) o << row("landlock", "TCP bind", "enforced: denied");
        if (ll.scoped) o << row("landlock", "signals, abstract unix sockets", "enforced: only within the session");
    }
    for (const auto& n : ll.notes) o << row("landlock", "note", n);
    o << row("mount ns", "host tree", mp.readonly_root ? "enforced: read-only view outside write trees" : "audit mode: as writable as the agent's permissions");
    o << row("mount ns", "mapping code (ld.so, libraries) outside the exec scope",
             mp.noexec_root    ? "enforced: everything but the exec trees is noexec"
             : mp.readonly_root ? "not needed: an exec tree is /"
                                : "audit mode: not enforced");
    // The kernel's own shmem mount holds memfds, and it is never noexec.
    o << row("seccomp", "mapping code from memory-backed files (memfd)",
             prog->denied.count("memfd_create") ? "enforced: memfd_create refused (ENOSYS)"
                                                : "NOT ENFORCED: the profile allows memfd_create, and the dynamic loader "
                                                  "maps a memfd as code (ld.so /proc/self/fd/N) outside every exec tree");
    o << row("mount ns", "private /tmp and /dev/shm", "enforced");
    o << row("mount ns", "own /dev", "enforced: null zero full random urandom tty, its own devpts (terminals)");
    for (const auto& d : mp.devices) o << row("", "device: " + d, "carried in (named by the profile)");
    for (const auto& w : mp.writable)
        o << row("mount ns", "writable: " + w.path,
                 w.noexec ? "noexec (outside exec scope)"
                          : "EXEC ALLOWED: inside an exec tree, so the agent can write programs here and run them");
    for (const auto& e : mp.exec_again)
        o << row("mount ns", "writable: " + e, "EXEC ALLOWED: an exec tree inside a write tree, so the agent can write "
                                               "programs here and run them");
    // An exec tree that holds /tmp or /dev/shm names the host's, which the
    // session does not see; its own stay noexec (launch/mount_setup.cpp).
    for (const char* own : {"/tmp", "/dev/shm"})
        for (const auto& e : mp.exec_trees)
            if (path_is_under(own, e)) {
                o << row("mount ns", std::string("the session's own ") + own,
                         "noexec all the same: exec tree " + e + " names the host's, which the session does not see");
                break;
            }
    for (const auto& p : mp.protect) o << row("mount ns", "protect: " + p.path, "enforced: read-only");
    for (const auto& p : mp.pinned)
        o << row("mount ns", "pinned: " + p.path, "enforced: holds a protected path; cannot be renamed or removed");
    for (const auto& g : mp.guarded)
        o << row("gate", "protect: " + g.protected_path,
                 g.rest.empty() ? "enforced: does not exist; the gate refuses to make it"
                                : "enforced: does not exist; the gate lets " + g.name + " on its way be made only as "
                                  "a directory, and guards it in there");
    for (const auto& d : mp.hide_dirs) o << row("mount ns", "hide: " + d, "enforced: empty");
    for (const auto& f : mp.hide_files) o << row("mount ns", "hide: " + f, "enforced: /dev/null");
    o << row("pid ns", "processes", "enforced: own pid namespace and /proc");
    o << row("ipc ns", "System V IPC, POSIX queues", "enforced: own IPC namespace, the host's unreachable");
    if (::access("/proc/sys/vm/memfd_noexec", F_OK) == 0)
        o << row("pid ns", "exec of memory-backed files", "enforced: vm.memfd_noexec=2");
    else
        o << row("pid ns", "exec of memory-backed files",
                 accepts_missing(*profile, "memfd-noexec")
                     ? "WEAKER (accepted by the profile, memfd-noexec): this kernel has no vm.memfd_noexec (Linux 6.3)"
                     : "CANNOT ENFORCE (session refused unless the profile accepts memfd-noexec): no vm.memfd_noexec "
                       "(Linux 6.3)");
    auto net = plan_network(*profile);
    if (!net) {
        o << row("cgroup-bpf", "network.connect", "CANNOT ENFORCE: " + net.error().describe());
    } else {
        o << row("cgroup-bpf", "connect, sendmsg (IPv4, IPv6, mapped)",
                 net->allow.empty() ? std::string("enforced: nothing allowed")
                                    : "enforced: " + std::to_string(net->allow.size()) + " address blocks");
        for (const auto& a : net->allow) o << row("", a.text, "");
        for (const auto& u : net->unresolved) o << row("", u, "does not resolve: nothing allowed");
        o << row("cgroup-bpf", "bind", "enforced: denied");
        o << row("cgroup-bpf", "traffic in (ports the kernel gave by itself)",
                 opts.audit ? "audit mode: let in, logged"
                            : "enforced: connections dropped; datagrams only from peers the connect entries name");
        o << row("cgroup-bpf", "sockets", "enforced: unix, TCP/UDP over IPv4/IPv6, route netlink only");
        o << row("gate", "pathname unix sockets",
                 opts.audit ? "audit mode: connected, those outside the read scope logged"
                            : "enforced: connect() only inside the read scope (resolved as the agent); "
                              "cgroup BPF connect_unix/sendmsg_unix refuse any made around the gate (Linux 6.7; "
                              "on an older kernel the session is refused" +
                                  std::string(accepts_missing(*profile, "unix-socket-hooks")
                                                  ? ", or runs without them: the profile accepts unix-socket-hooks)"
                                                  : ")"));
        o << row("tracepoint", "network refusals Landlock makes",
                 "journaled: connect() and bind() exits with EACCES (the cgroup hooks never see those); unix "
                 "binds as files made or refused, with events.files");
        o << row("tracepoint", "events.files",
                 !profile->events.files ? "off in this profile: no exec or file events"
                 : profile->events.reads ? "journaled: every exec, file change, refusal and read"
                                         : "journaled: every exec, file change and refusal; reads counted");
    }
    fputs(o.str().c_str(), stdout);
    return {0, ""};
}

}  // namespace sandboxd
