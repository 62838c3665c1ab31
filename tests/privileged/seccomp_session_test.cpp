// The seccomp baseline inside a real session, probed by a hostile program
// that keeps going after each refusal.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

std::map<std::string, std::string> probe(const Host& h, const std::vector<std::string>& extra,
                                         const std::vector<std::string>& probes) {
    std::vector<std::string> args = extra;
    args.insert(args.end(), {"--user", kAgentUser, "--", testcase("syscall_probe")});
    args.insert(args.end(), probes.begin(), probes.end());
    // "ret=-1 errno=EPERM" -> "EPERM"
    auto out = h.run_probes(args);
    for (auto& [name, result] : out) result = result.substr(result.find("errno=") + 6);
    return out;
}

}  // namespace

TEST_CASE("blocked syscalls fail with EPERM/ENOSYS inside the session and the agent continues") {
    Host h;
    auto r = probe(h, {}, {"getpid", "ptrace", "io_uring_setup", "bpf", "mount", "umount", "unshare_user",
                           "clone_newuser", "clone3", "setns", "keyctl", "add_key", "userfaultfd",
                           "perf_event_open", "kexec_load", "init_module", "open_by_handle_at", "chroot",
                           "personality_rie", "personality_norandom", "personality_highbits",
                           "personality_query", "tiocsti", "tiocsti_highbits", "inode_flags", "ia32_getpid",
                           "x32_getpid", "fork", "unshare_files"});
    CHECK(r["getpid"] == "0");
    CHECK(r["fork"] == "0");
    CHECK(r["unshare_files"] == "0");
    CHECK(r["personality_query"] == "0");
    for (const char* s : {"ptrace", "bpf", "mount", "umount", "unshare_user", "clone_newuser", "setns",
                          "keyctl", "add_key", "userfaultfd", "perf_event_open", "kexec_load",
                          "init_module", "open_by_handle_at", "chroot", "personality_rie",
                          "personality_norandom", "personality_highbits", "tiocsti", "tiocsti_highbits",
                          "inode_flags"}) {
        INFO(s);
        CHECK(r[s] == "EPERM");
    }
    CHECK(r["io_uring_setup"] == "ENOSYS");
    CHECK(r["clone3"] == "ENOSYS");
    CHECK(r["ia32_getpid"] == "ENOSYS");
    CHECK(r["x32_getpid"] == "ENOSYS");
}

TEST_CASE("a profile that allows a group really opens it (the probes can tell)") {
    Host h;
    std::string relaxed = h.profile("relaxed",
                                    "name = 'relaxed'\nextends = 'readonly-t'\n[syscalls]\n"
                                    "allow = ['@io-uring', '@personality', '@tty-injection', '@keyring', "
                                    "'@namespaces', '@debug', '@inode-flags']\n");
    auto r = probe(h, {"--profile", relaxed},
                   {"io_uring_setup", "personality_rie", "tiocsti", "keyctl", "unshare_user", "ptrace", "inode_flags"});
    CHECK(r["inode_flags"] == "0");
    CHECK(r["io_uring_setup"] == "0");
    CHECK(r["personality_rie"] == "0");
    CHECK(r["tiocsti"] == "ENOTTY");  // stdin is /dev/null: the kernel's answer, not ours
    CHECK(r["keyctl"] == "0");
    CHECK(r["unshare_user"] == "0");
    CHECK(r["ptrace"] == "0");
}

TEST_CASE("a profile's extra denials apply on top of the baseline") {
    Host h;
    std::string strict = h.profile("strict", "name = 'strict'\nextends = 'readonly-t'\n[syscalls]\n"
                                             "deny = ['unshare']\n");
    auto r = probe(h, {"--profile", strict}, {"unshare_files", "getpid"});
    CHECK(r["unshare_files"] == "EPERM");
    CHECK(r["getpid"] == "0");
}
