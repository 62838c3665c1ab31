#include "landlock/ruleset.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file_io.h"
#include "landlock/abi.h"

namespace sandboxd {

Result<UniqueFd> build_landlock_ruleset(const LandlockPolicy& policy) {
    landlock::RulesetAttr attr{policy.handled_fs, policy.handled_net, policy.scoped};
    // Older kernels take a shorter attribute: pass only what this ABI knows.
    size_t size = policy.abi >= 6 ? sizeof attr : policy.abi >= 4 ? 2 * sizeof(__u64) : sizeof(__u64);
    int fd = int(::syscall(__NR_landlock_create_ruleset, &attr, size, 0));
    if (fd < 0) return errno_error("cannot create the Landlock ruleset");
    UniqueFd ruleset(fd);

    for (const auto& rule : policy.fs_rules) {
        if (rule.access == 0) continue;
        uint64_t access = rule.access;
        // The policy names where each tree leads: a symbolic link on the way
        // now is one put there since, which nobody judged (path_trust.h).
        UniqueFd dir = open_resolved(AT_FDCWD, rule.path.c_str(), O_PATH | (rule.beside_hidden ? O_NOFOLLOW : 0),
                                     RESOLVE_NO_SYMLINKS);
        if (!dir && rule.beside_hidden) continue;  // gone since: nothing to grant
        if (!dir && errno == ELOOP)
            return Error{ELOOP, "Landlock rule for " + rule.path + ": a symbolic link was put on its way since it was "
                                "looked at"};
        if (!dir) return errno_error("Landlock rule for " + rule.path + ": cannot open it");
        if (rule.beside_hidden) {
            // What is there now, not what was listed: a link is not
            // followed, and a directory swapped for a file keeps only
            // the rights a file can have.
            struct stat st{};
            if (::fstat(dir.get(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
            if (!S_ISDIR(st.st_mode)) access &= landlock::kFsFileRights;
        }
        landlock_path_beneath_attr pb{};
        pb.allowed_access = access;
        pb.parent_fd = dir.get();
        if (::syscall(__NR_landlock_add_rule, ruleset.get(), LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
            return errno_error("cannot add the Landlock rule for " + rule.path);
    }
    if (policy.handled_net & landlock::kNetConnectTcp) {
        for (uint16_t port : policy.connect_ports) {
            landlock::NetPortAttr np{landlock::kNetConnectTcp, port};
            if (::syscall(__NR_landlock_add_rule, ruleset.get(), landlock::kRuleNetPort, &np, 0) != 0)
                return errno_error("cannot add the Landlock rule for TCP port " + std::to_string(port));
        }
    }
    return ruleset;
}

Status landlock_add_tree(int ruleset_fd, int dir_fd, uint64_t access) {
    landlock_path_beneath_attr pb{};
    pb.allowed_access = access;
    pb.parent_fd = dir_fd;
    if (::syscall(__NR_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
        return errno_error("cannot add a Landlock rule");
    return {};
}

int landlock_restrict_self(int ruleset_fd) {
    return int(::syscall(__NR_landlock_restrict_self, ruleset_fd, 0));
}

}  // namespace sandboxd
