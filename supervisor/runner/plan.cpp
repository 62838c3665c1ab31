#include "runner/plan.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "base/file_io.h"
#include "base/path_trust.h"
#include "base/paths.h"
#include "mounts/aliases.h"
#include "profile/loader.h"
#include "snapshot/store.h"

namespace sandboxd {
namespace {


}  // namespace

Result<std::string> resolve_workspace(const std::optional<std::string>& ws, const Identity& agent) {
    std::string dir = ws.value_or(".");
    std::string absolute = dir;
    if (absolute.empty() || absolute.front() != '/') {
        auto cwd = logical_cwd();
        if (!cwd) return Error{cwd.error().code, "workspace " + dir + ": " + cwd.error().message};
        absolute = *cwd + "/" + dir;
    }
    uid_t agent_uid = agent.uid;
    gid_t agent_gid = agent.gid;
    // Judged and resolved in one walk, entry by entry: no look at the path
    // and then another (realpath) that a link swapped in between would
    // send elsewhere. Every later open of it follows no symbolic link.
    const AgentLinks agent_links{agent_uid, agent_gid, agent.groups};
    auto real = trusted_real_path(absolute, trusted_owners(agent_uid, agent_gid), &agent_links);
    if (!real) return plain_error("workspace " + dir + " cannot be trusted: " + real.error().message);
    UniqueFd at = open_resolved(AT_FDCWD, real->c_str(), O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
    if (!at) {
        if (errno == ENOTDIR) return plain_error("workspace " + *real + " is not a directory");
        if (errno == ELOOP) return plain_error("workspace " + dir + " changed while it was looked at (a symbolic link on its way)");
        return errno_error("workspace " + dir);
    }
    return *real;
}


Result<Plan> make_plan(const RunOptions& opts, const SandboxdDirs& dirs) {
    // What this kernel lacks for the profile, all of it in one refusal.
    std::vector<KernelGap> missing;
    // Exec from memfd is closed with vm.memfd_noexec in the session's pid
    // namespace: a kernel without it cannot enforce the exec scope.
    bool memfd_noexec = ::access("/proc/sys/vm/memfd_noexec", F_OK) == 0;
    if (!memfd_noexec)
        missing.push_back({"memfd-noexec", "no vm.memfd_noexec (Linux 6.3), needed to stop the agent from "
                                           "executing memory-backed files"});
    Plan plan;
    auto id = resolve_identity(opts.user);
    if (!id) return id.error();
    plan.identity = std::move(*id);
    auto ws = resolve_workspace(opts.workspace, plan.identity);
    if (!ws) return ws.error();
    plan.workspace = std::move(*ws);
    auto profile = ProfileLoader::with_default_path().load(
        opts.profile,
        ProfileVars{plan.workspace, plan.identity.home, plan.identity.uid, plan.identity.gid, plan.identity.groups});
    if (!profile) return profile.error();
    plan.profile = std::move(*profile);
    hide_under_every_mount(plan.profile);
    if (plan.profile.tier == 1)
        return plain_error("profile " + plan.profile.name +
                           " asks for tier 1 (shadow mode: writes land in an overlay), which this "
                           "build cannot enforce yet; use a tier 2 or 3 profile");
    // The snapshot gate: wherever the agent may change something that
    // outlives the session (write and destroy trees; anything, in audit
    // mode). A write tree alone is not safe from loss: writing in place
    // overwrites what was there (the gate refuses it, but the kernel lets
    // an open for appending be turned into one that is not, or mapped),
    // and chmod, chown and xattrs change it; each needs its undo record.
    bool gate = !plan.profile.destroy.empty() || !plan.profile.write.empty() || opts.audit;
    // Audit mode studies what the agent would do: Landlock cannot log
    // instead of deny, so it is not applied at all (--explain says so).
    if (!opts.audit) {
        LandlockPolicy ll = compile_landlock(plan.profile, landlock_abi_version(), plan.identity.uid);
        missing.insert(missing.end(), ll.missing.begin(), ll.missing.end());
        // Accepted below or refused: either way no Landlock without ABI 1.
        if (ll.abi >= 1) plan.landlock = std::move(ll);
    }
    std::string refused, ids;
    for (auto& m : missing) {
        if (accepts_missing(plan.profile, m.id)) {
            plan.weakened.push_back(std::move(m));
            continue;
        }
        refused += (refused.empty() ? "" : "; ") + m.what;
        ids += (ids.empty() ? "\"" : ", \"") + m.id + "\"";
    }
    if (!refused.empty())
        return plain_error("profile " + plan.profile.name + " cannot be enforced on this kernel (" + refused +
                           "); upgrade the kernel, or accept a weaker sandbox in the profile with [kernel] "
                           "accept_missing = [" + ids + "]");
    std::vector<std::string> hidden = {dirs.runtime, dirs.state};
    if (gate) {
        // The state directory may not exist yet: its nearest existing
        // ancestor is on the same mount.
        std::string state = dirs.state;
        while (state != "/" && ::access(state.c_str(), F_OK) != 0) state = state.substr(0, std::max<size_t>(1, state.find_last_of('/')));
        auto state_root = mount_root_of(state);
        if (!state_root) return state_root.error();
        std::vector<PathRule> changed = plan.profile.destroy;
        changed.insert(changed.end(), plan.profile.write.begin(), plan.profile.write.end());
        for (const auto& d : changed) {
            if (!d.exists) continue;
            auto root = mount_root_of(d.path);
            if (!root) return root.error();
            if (*root == *state_root) continue;
            bool dup = false;
            for (const auto& m : plan.snapshot_mounts) dup = dup || m == *root;
            if (dup) continue;
            plan.snapshot_mounts.push_back(*root);
            hidden.push_back(store_parent_at(*root));
        }
    }
    plan.mounts = plan_mounts(plan.profile, plan.workspace, hidden, opts.audit);
    if (gate)
        for (const auto& w : plan.profile.write) {
            struct statx sx{};
            if (w.exists && ::statx(AT_FDCWD, w.path.c_str(), 0, STATX_BTIME, &sx) == 0 && !(sx.stx_mask & STATX_BTIME))
                plan.journal_creates = true;
        }
    // A protected path that does not exist yet is kept from being made by
    // the gate, which then also sees every call that makes a name.
    bool guard = !plan.mounts.guarded.empty() || plan.journal_creates;
    plan.create_gate = guard;
    auto prog = compile_seccomp_cached(plan.profile.syscalls, opts.audit, gate || guard, true, guard,
                                       dirs.runtime + "/cache");
    if (!prog) return prog.error();
    plan.seccomp = std::move(*prog);
    // io_uring does its work without syscalls the filter could send to the
    // gate: a ring would delete unsnapshotted and make guarded names.
    if ((gate || guard) && !opts.audit && !plan.seccomp.denied.count("io_uring_setup"))
        return plain_error("profile " + plan.profile.name + " allows io_uring, which bypasses the snapshot gate " +
                           (gate ? std::string("its write and destroy trees need") : "its protected or hidden paths in write trees (" +
                                                                              plan.mounts.guarded.front().protected_path + ") need") +
                           "; deny @io-uring again, or drop the write and destroy trees and those paths");
    plan.mounts.memfd_noexec = memfd_noexec;
    auto net = plan_network(plan.profile);
    if (!net) return net.error();
    plan.network = std::move(*net);
    auto cg = detect_cgroup_host();
    if (!cg) return cg.error();
    plan.cgroups = std::move(*cg);
    return plan;
}

}  // namespace sandboxd
