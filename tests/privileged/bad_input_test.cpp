// Bad input to sandbox-run: one clear line, exit 125, nothing left behind.
#include <sys/xattr.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include <catch2/catch.hpp>

#include "base/file_io.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

constexpr const char* kCgroupBase = "/sys/fs/cgroup/unified/sandboxd";

// Whether a session cgroup belongs to a supervisor still running: another
// test's session, started meanwhile (ctest runs two at once). A cgroup is
// marked a moment after it is made, so an unmarked one gets a second look.
bool owned_by_live_supervisor(const std::string& dir) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        char mark[128] = {};
        ssize_t n = ::getxattr(dir.c_str(), "trusted.sandboxd.supervisor", mark, sizeof mark - 1);
        if (n > 0) {
            pid_t pid = pid_t(std::strtol(mark, nullptr, 10));
            return pid > 0 && ::kill(pid, 0) == 0;
        }
        if (!path_exists(dir)) return true;  // removed by its own supervisor
        sleep_ms(200);
    }
    return false;
}

// Cgroups that appeared since `before` and belong to no running supervisor.
std::vector<std::string> cgroups_left_since(const std::vector<std::string>& before) {
    std::vector<std::string> left;
    for (const auto& name : list_dir(kCgroupBase)) {
        if (std::find(before.begin(), before.end(), name) != before.end()) continue;
        std::string dir = std::string(kCgroupBase) + "/" + name;
        if (!owned_by_live_supervisor(dir)) left.push_back(name);
    }
    return left;
}

// Runs sandbox-run expecting a set-up failure, and checks that it left no
// session entry, journal or cgroup behind.
std::string expect_125(const Host& h, const std::vector<std::string>& args,
                       const std::vector<std::string>& extra_env = {}) {
    auto before = list_dir(kCgroupBase);
    auto env = h.env();
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    auto r = run(h.run_argv(args), env);
    CHECK(r.status == 125);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_THAT(r.err, Catch::StartsWith("sandbox-run: "));
    CHECK(list_dir(h.runtime / "sessions").empty());
    CHECK(cgroups_left_since(before).empty());
    return r.err;
}

}  // namespace

TEST_CASE("bad profiles refuse the session") {
    Host h;
    CHECK_THAT(expect_125(h, {"--profile", "nosuchprofile", "--", "true"}),
               Catch::Contains("no profile named 'nosuchprofile'"));
    CHECK_THAT(expect_125(h, {"--profile", "/no/such/file.toml", "--", "true"}),
               Catch::Contains("cannot read profile /no/such/file.toml: No such file or directory"));
    std::string syntax = h.profile("syntax", "name = 'x'\n[filesystem\n");
    CHECK_THAT(expect_125(h, {"--profile", syntax, "--", "true"}), Catch::Contains(syntax + ":2:"));
    std::string typo = h.profile("typo", "name = 'x'\n[filesystem]\nwirte = ['/tmp']\n");
    CHECK_THAT(expect_125(h, {"--profile", typo, "--", "true"}),
               Catch::Contains(typo + ":3:1: filesystem.wirte: unknown key"));
    std::string missing = h.profile("missing", "name = 'x'\n[filesystem]\nread = ['/no/such/dir']\n");
    CHECK_THAT(expect_125(h, {"--profile", missing, "--", "true"}),
               Catch::Contains("path /no/such/dir does not exist"));
    std::string tier1 = h.profile("tier1", "name = 'x'\ntier = 1\n");
    CHECK_THAT(expect_125(h, {"--profile", tier1, "--", "true"}), Catch::Contains("tier 1"));
}

TEST_CASE("bad options refuse the session") {
    Host h;
    CHECK_THAT(expect_125(h, {"--workspace", "/no/such/ws", "--", "true"}),
               Catch::Contains("workspace /no/such/ws: No such file or directory"));
    CHECK_THAT(expect_125(h, {"--workspace", "/etc/hostname", "--", "true"}),
               Catch::Contains("is not a directory"));
    CHECK_THAT(expect_125(h, {"--user", "no-such-user-x", "--", "true"}),
               Catch::Contains("no user named 'no-such-user-x'"));
    CHECK_THAT(expect_125(h, {"--frobnicate", "--", "true"}), Catch::Contains("--frobnicate"));
    CHECK_THAT(expect_125(h, {"--"}), Catch::Contains("no command given"));
}

TEST_CASE("without root: a clear refusal") {
    Host h;
    auto r = run({"/usr/bin/setpriv", "--reuid=4242", "--regid=4343", "--clear-groups", SANDBOX_RUN, "--", "true"},
                 h.env());
    CHECK(r.status == 125);
    CHECK(r.err == "sandbox-run: sandbox-run needs root to set up a session (no sandboxd daemon to ask); run it "
                   "with sudo\n");
}

TEST_CASE("sandbox-run --explain describes the layers and runs nothing") {
    Host h;
    auto r = h.run({"--explain", "--profile", "workspace", "--user", kAgentUser, "--workspace", h.ws.path()});
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("seccomp"));
    CHECK_THAT(r.out, Catch::Contains("limits.pids"));
    CHECK(list_dir(h.state / "sessions").empty());
}
