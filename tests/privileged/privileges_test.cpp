// The agent runs as the invoking user with nothing extra: no capabilities,
// no_new_privs, seccomp on, and setuid binaries gain nothing.
#include <linux/keyctl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "base/file_io.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {
const char* kNoCaps[] = {"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000",
                         "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000",
                         "CapAmb:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"};
}

TEST_CASE("the agent gets the requested uid and gid / no capabilities / no_new_privs and seccomp") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--", testcase("print_ids")});
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("ruid=4242 euid=4242 suid=4242 rgid=4343 egid=4343 sgid=4343"));
    for (const char* line : kNoCaps) CHECK_THAT(r.out, Catch::Contains(line));
}

TEST_CASE("a crashing agent leaves no core dump - and cannot raise its limit") {
    Host h;
    // Whatever the host's core_pattern is, a dump would be written from
    // outside the sandbox; raise the limit the agent inherits to be sure.
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_CORE, &old) == 0);
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    REQUIRE(setrlimit(RLIMIT_CORE, &unlimited) == 0);
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "ulimit -c; (ulimit -c unlimited) 2>/dev/null && echo raised; kill -SEGV $$"});
    setrlimit(RLIMIT_CORE, &old);
    CHECK(r.out == "0\n");
    CHECK(r.status == 128 + SIGSEGV);
    for (const auto& name : list_dir(h.ws.path())) CHECK_FALSE(name.starts_with("core"));
}

// The session keyring is inherited: the agent saw the names of its
// caller's (root's) keys in /proc/keys, and the kernel searched them for it.
TEST_CASE("the agent has a session keyring of its own - its caller's keys are not shown to it") {
    Host h;
    // A child of the test's own keeps the test's keyring as it was.
    std::string name = "sbx-test-secret-" + std::to_string(getpid());
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 ||
            syscall(SYS_add_key, "user", name.c_str(), "TOPSECRET", 9, KEY_SPEC_SESSION_KEYRING) < 0)
            _exit(2);
        auto argv = h.run_argv({"--user", kAgentUser, "--", "/bin/cat", "/proc/keys"});
        std::vector<char*> a;
        for (auto& s : argv) a.push_back(s.data());
        a.push_back(nullptr);
        int out = ::open((h.ws / "keys.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || dup2(out, 1) != 1) _exit(3);
        for (const auto& e : h.env()) putenv(strdup(e.c_str()));
        execv(a[0], a.data());
        _exit(4);
    }
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    REQUIRE(WIFEXITED(st));
    REQUIRE(WEXITSTATUS(st) == 0);
    auto keys = sandboxd::read_file(h.ws / "keys.txt");
    REQUIRE(keys);
    INFO(*keys);
    CHECK(keys->find(name) == std::string::npos);
    CHECK(keys->find("_ses") != std::string::npos);  // its own, new one
}

TEST_CASE("without --user: SUDO_UID's user / else nobody when root started it") {
    Host h;
    auto env = h.env();
    auto nobody = run(h.run_argv({"--", testcase("print_ids")}), env);
    CHECK_THAT(nobody.out, Catch::Contains("ruid=65534 euid=65534"));
    env.push_back("SUDO_UID=4242");
    env.push_back("SUDO_GID=4343");
    auto sudo = run(h.run_argv({"--", testcase("print_ids")}), env);
    CHECK_THAT(sudo.out, Catch::Contains("ruid=4242 euid=4242 suid=4242 rgid=4343"));
}

TEST_CASE("root only when asked by name / and even then without capabilities") {
    Host h;
    auto r = h.run({"--user", "root", "--", testcase("print_ids")});
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("ruid=0 euid=0"));
    for (const char* line : kNoCaps) CHECK_THAT(r.out, Catch::Contains(line));
    // Root without capabilities cannot do what root normally can.
    auto chown = h.run({"--user", "root", "--workspace", h.ws.path(), "--", "sh", "-c",
                        "touch f && chown 1:1 f"});
    CHECK(chown.status != 0);
}

TEST_CASE("a setuid-root binary gains nothing inside a session") {
    Host h;
    TempDir bin("sandboxd-suid");
    REQUIRE(chmod(bin.path().c_str(), 0755) == 0);
    std::string suid = bin / "print_ids";
    std::filesystem::copy_file(testcase("print_ids"), suid);
    REQUIRE(chown(suid.c_str(), 0, 0) == 0);
    REQUIRE(chmod(suid.c_str(), 04755) == 0);

    // Control: outside a session the same binary run as 4242 becomes euid 0,
    // so the check below can fail.
    auto outside = run({"/usr/bin/setpriv", "--reuid=4242", "--regid=4343", "--clear-groups", suid});
    REQUIRE_THAT(outside.out, Catch::Contains("euid=0"));

    std::string p = h.profile("suid", "name='suid'\nextends='readonly'\n[exec]\nallow=['/usr', '-/lib', '-/lib64', '" +
                                          bin.path() + "']\n");
    auto inside = h.run({"--profile", p, "--user", kAgentUser, "--", suid});
    REQUIRE(inside.status == 0);
    CHECK_THAT(inside.out, Catch::Contains("ruid=4242 euid=4242 suid=4242"));
    CHECK_THAT(inside.out, Catch::Contains("CapEff:\t0000000000000000"));
}

TEST_CASE("descriptors held by whoever started sandbox-run do not leak into the agent") {
    Host h;
    // fd 9 is open (not close-on-exec) in the shell that starts sandbox-run.
    auto r = run({"/bin/sh", "-c", std::string("exec 9</etc/hostname; ") + SANDBOX_RUN + " --user " +
                                       kAgentUser + " -- sh -c 'ls /proc/self/fd'"},
                 h.env());
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, !Catch::Contains("9"));
}
