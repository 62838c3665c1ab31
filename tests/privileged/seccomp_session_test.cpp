// The seccomp baseline inside a real session, probed by a hostile program
// that keeps going after each refusal.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "journal/journal.h"
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

// The session's refused-syscall lines: target -> "rule errno attempts"
// for each, in order.
std::multimap<std::string, std::string> refusals_journaled(const Host& h) {
    auto lines = sandboxd::read_journal(h.dirs().journal_path(only_session(h)));
    REQUIRE(lines.ok());
    std::multimap<std::string, std::string> out;
    for (const auto& l : *lines) {
        const auto& j = l.value;
        if (j.value("action", "") != "syscall") continue;
        CHECK(j.value("decision", "") == "deny");
        CHECK(j.value("layer", "") == "seccomp");
        out.emplace(j.value("target", ""), j.value("rule", "") + " " + std::to_string(j.value("errno", 0)) + " " +
                                               std::to_string(j["detail"].value("attempts", 0)));
    }
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
                           "x32_getpid", "fork", "unshare_files", "open_tree_attr", "file_setattr", "inode_version",
                           "memfd_create", "fanotify_init", "setlease", "dnotify"});
    CHECK(r["getpid"] == "0");
    CHECK(r["fork"] == "0");
    CHECK(r["unshare_files"] == "0");
    CHECK(r["personality_query"] == "0");
    for (const char* s : {"ptrace", "bpf", "mount", "umount", "unshare_user", "clone_newuser", "setns",
                          "keyctl", "add_key", "userfaultfd", "perf_event_open", "kexec_load",
                          "init_module", "open_by_handle_at", "chroot", "personality_rie",
                          "personality_norandom", "personality_highbits", "tiocsti", "tiocsti_highbits",
                          "inode_flags", "open_tree_attr", "file_setattr", "inode_version", "fanotify_init", "setlease",
                          "dnotify"}) {
        INFO(s);
        CHECK(r[s] == "EPERM");
    }
    CHECK(r["io_uring_setup"] == "ENOSYS");
    CHECK(r["memfd_create"] == "ENOSYS");
    CHECK(r["clone3"] == "ENOSYS");
    CHECK(r["ia32_getpid"] == "ENOSYS");
    CHECK(r["x32_getpid"] == "ENOSYS");

    // Each attempt is on the record, with the rule that refused it; three
    // personality() and three ioctl() attempts: the 1st and 2nd, then the
    // total at the end. clone3 (glibc tries it for every thread) and the
    // foreign ABIs are refused without a line.
    auto j = refusals_journaled(h);
    using Lines = std::vector<std::string>;
    auto of = [&](const std::string& name) {
        Lines out;
        for (auto [at, end] = j.equal_range(name); at != end; ++at) out.push_back(at->second);
        return out;
    };
    CHECK(of("ptrace") == Lines{"syscalls: ptrace 1 1"});
    CHECK(of("io_uring_setup") == Lines{"syscalls: io_uring_setup 38 1"});
    CHECK(of("unshare") == Lines{"syscalls: %clone-namespaces 1 1"});
    CHECK(of("clone") == Lines{"syscalls: %clone-namespaces 1 1"});
    CHECK(of("personality") == Lines{"syscalls: %personality 1 1", "syscalls: %personality 1 2", "syscalls: %personality 1 3"});
    CHECK(of("ioctl").size() == 3);  // four attempts: the 1st, 2nd and 4th
    CHECK(of("memfd_create") == Lines{"syscalls: memfd_create 38 1"});
    CHECK(of("fanotify_init") == Lines{"syscalls: fanotify_init 1 1"});
    CHECK(of("fcntl") == Lines{"syscalls: %dnotify or %leases 1 1", "syscalls: %dnotify or %leases 1 2"});
    for (const char* s : {"bpf", "mount", "umount2", "setns", "keyctl", "add_key", "userfaultfd", "perf_event_open",
                          "kexec_load", "init_module", "open_by_handle_at", "chroot"}) {
        INFO(s);
        CHECK(of(s) == Lines{std::string("syscalls: ") + s + " 1 1"});
    }
    CHECK(of("open_tree_attr") == Lines{"syscalls: open_tree_attr 1 1"});  // newer than libseccomp's names
    CHECK(of("file_setattr") == Lines{"syscalls: %inode-flags 1 1"});
    CHECK(of("clone3").empty());
    CHECK(of("getpid").empty());
    CHECK(j.size() == 3 + 3 + 4 + 12 + 2 + 3 + 1);
}

TEST_CASE("an agent looping on a refused syscall: every call refused - the journal gets a line per power of two and the total") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--", "python3", "-c",
                    "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                    "n = sum(libc.ptrace(16, 1, 0, 0) == -1 and ctypes.get_errno() == 1 for _ in range(1000))\n"
                    "print(n)\n"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "1000\n");
    auto j = refusals_journaled(h);
    std::vector<std::string> lines;
    for (auto [at, end] = j.equal_range("ptrace"); at != end; ++at) lines.push_back(at->second);
    std::vector<std::string> expected;
    for (int n = 1; n <= 512; n *= 2) expected.push_back("syscalls: ptrace 1 " + std::to_string(n));
    expected.push_back("syscalls: ptrace 1 1000");
    CHECK(lines == expected);
}

TEST_CASE("a profile that allows a group really opens it (the probes can tell)") {
    Host h;
    std::string relaxed = h.profile("relaxed",
                                    "name = 'relaxed'\nextends = 'readonly-t'\n[syscalls]\n"
                                    "allow = ['@io-uring', '@personality', '@tty-injection', '@keyring', "
                                    "'@namespaces', '@debug', '@inode-flags', '@memfd', '@fanotify', '@leases']\n");
    auto r = probe(h, {"--profile", relaxed},
                   {"io_uring_setup", "personality_rie", "tiocsti", "keyctl", "unshare_user", "ptrace", "inode_flags",
                    "memfd_create", "fanotify_init", "setlease", "dnotify"});
    CHECK(r["inode_flags"] == "0");
    CHECK(r["memfd_create"] == "0");
    CHECK(r["fanotify_init"] == "0");
    CHECK(r["setlease"] == "0");
    CHECK(r["dnotify"] == "0");
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
    auto j = refusals_journaled(h);
    REQUIRE(j.count("unshare") == 1);
    CHECK(j.find("unshare")->second == "syscalls: unshare 1 1");
}
