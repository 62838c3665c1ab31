#include "landlock/policy.h"

#include <linux/limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <map>

#include "landlock/abi.h"
#include "landlock/hidden_split.h"

namespace sandboxd {
namespace {

using namespace landlock;

constexpr uint64_t kRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr uint64_t kWrite = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
                            LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_SYM |
                            LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SOCK;
constexpr uint64_t kDestroy = LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                              kFsTruncate | kFsRefer;
constexpr uint64_t kExec = LANDLOCK_ACCESS_FS_EXECUTE | kRead;
constexpr uint64_t kDevice = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                             LANDLOCK_ACCESS_FS_READ_DIR;
// Port ranges larger than this are left to the cgroup BPF layer rather than
// spelled out as one Landlock rule a port.
constexpr size_t kMaxPortRules = 4096;

}  // namespace

const std::vector<std::string>& implicit_device_paths() {
    static const std::vector<std::string> paths = {"/dev/null", "/dev/zero",  "/dev/full", "/dev/random",
                                                   "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/pts"};
    return paths;
}

int landlock_abi_version() {
    long v = ::syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return v < 0 ? 0 : int(v);
}

LandlockPolicy compile_landlock(const Profile& p, int abi, uid_t agent_uid) {
    LandlockPolicy out;
    out.abi = abi;
    if (abi < 1) {
        out.missing.push_back({"landlock",
                               "Landlock (file scope): the kernel has none; boot a kernel with "
                               "CONFIG_SECURITY_LANDLOCK=y and 'landlock' in the lsm= list"});
        return out;
    }
    out.handled_fs = kFsAbi1;
    if (abi >= 2) out.handled_fs |= kFsRefer;
    if (abi >= 3) out.handled_fs |= kFsTruncate;

    out.private_tmp_access = (kRead | kWrite | kDestroy) & out.handled_fs;
    out.destroy_access = kDestroy & out.handled_fs;

    // Union of rights per path, in profile order.
    std::vector<std::string> order;
    std::map<std::string, std::pair<uint64_t, std::string>> rights;
    auto grant = [&](const std::vector<PathRule>& rules, uint64_t access, const char* why) {
        for (const auto& r : rules) {
            if (!r.exists) continue;
            auto [it, fresh] = rights.try_emplace(r.path, 0, "");
            if (fresh) order.push_back(r.path);
            it->second.first |= access;
            it->second.second += (it->second.second.empty() ? "" : "+") + std::string(why);
        }
    };
    grant(p.read, kRead, "read");
    // Truncation too: every way to it passes the snapshot gate, which a
    // write tree always has, and which lets the agent truncate only what
    // it made (gate/write_ops.cpp); without it, a build could not write
    // its own outputs a second time.
    grant(p.write, kRead | kWrite | kFsTruncate, "write");
    grant(p.destroy, kRead | kWrite | kDestroy, "destroy");
    grant(p.exec_allow, kExec, "exec");
    for (const auto& path : implicit_device_paths()) {
        // By where it leads (/dev/ptmx -> pts/ptmx in some containers): the
        // ruleset follows no link. The host's own /dev, root's.
        char real[PATH_MAX];
        if (!::realpath(path.c_str(), real)) continue;
        const std::string dev = real;
        auto [it, fresh] = rights.try_emplace(dev, 0, "");
        if (fresh) order.push_back(dev);
        it->second.first |= kDevice;
        it->second.second += (it->second.second.empty() ? "" : "+") + std::string("device");
    }
    for (const auto& path : order) {
        auto& [access, why] = rights[path];
        // Rights on a non-directory may only be those that apply to files.
        struct stat st{};
        uint64_t mask = out.handled_fs;
        if (::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) mask &= kFsFileRights;
        out.fs_rules.push_back({path, access & mask, why});
    }
    out.hidden = resolved_hidden_paths(p.hide);
    grant_around_hidden(out.fs_rules, out.hidden, agent_uid, (kWrite | kDestroy) & out.handled_fs, out.notes,
                        out.warnings);
    for (const auto& r : out.fs_rules)
        if (r.path == "/proc") out.proc_access |= r.access;

    if (abi < 3 && !p.write.empty())
        out.missing.push_back({"landlock-truncate",
                               "Landlock ABI " + std::to_string(abi) +
                                   " cannot tell writing from truncating (needs ABI 3, Linux 6.2): write trees "
                                   "would allow overwriting"});
    if (abi < 2 && !p.destroy.empty())
        out.notes.push_back("Landlock ABI 1: renames and links across directories are refused everywhere");

    if (abi >= 4) {
        // No connect entries: no TCP at all. Otherwise the listed ports, when
        // they fit; addresses are the cgroup BPF layer's to check.
        out.handled_net = kNetBindTcp | kNetConnectTcp;
        size_t ports = 0;
        for (const auto& r : p.connect) ports += size_t(r.port_max - r.port_min) + 1;
        if (ports > kMaxPortRules) {
            out.handled_net = kNetBindTcp;
            out.notes.push_back("TCP connect ports: too many to list in Landlock, not restricted by it");
        } else {
            std::vector<bool> seen(65536, false);
            for (const auto& r : p.connect)
                for (uint32_t port = r.port_min; port <= r.port_max; ++port)
                    if (!seen[port]) {
                        seen[port] = true;
                        out.connect_ports.push_back(uint16_t(port));
                    }
        }
    } else {
        out.notes.push_back("Landlock ABI " + std::to_string(abi) + " has no TCP rules (needs ABI 4)");
    }
    if (abi >= 6) out.scoped = kScopeSignal | kScopeAbstractUnixSocket;
    else out.notes.push_back("Landlock ABI " + std::to_string(abi) + " cannot scope signals and abstract sockets (needs ABI 6)");
    return out;
}

}  // namespace sandboxd
