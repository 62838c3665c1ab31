// Resource limits from the profile, enforced by the session's cgroup.
#include <fcntl.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "base/file_io.h"
#include "cgroup/control.h"
#include "session_helpers.h"

using namespace sandboxd::test;

TEST_CASE("a fork bomb stops at pids.max and the host is fine") {
    Host h;
    std::string p = h.profile("pids", "name='pids'\nextends='readonly-t'\n[limits]\npids = 64\n");
    auto r = h.run({"--profile", p, "--user", kAgentUser, "--", testcase("forkbomb")});
    REQUIRE(r.status == 0);
    int forked = -1;
    char err[32] = {};
    REQUIRE(sscanf(r.out.c_str(), "forked=%d errno=%31s", &forked, err) == 2);
    CHECK(forked < 64);
    CHECK(forked > 10);
    CHECK(std::string(err) == "EAGAIN");
    // The host still forks.
    CHECK(run({"/bin/true"}).status == 0);

    // Control: without the limit the same program gets much further.
    auto unlimited = h.run({"--profile", h.profile("nolimit", "name='nolimit'\nextends='readonly-t'\n[limits]\npids=4096\n"),
                            "--user", kAgentUser, "--", testcase("forkbomb")});
    REQUIRE(sscanf(unlimited.out.c_str(), "forked=%d", &forked) == 1);
    CHECK(forked > 500);
}

// tail -c buffers what it is asked to keep; it volunteers as the OOM
// killer's first choice so the shell that reports its fate survives.
const std::string kHog = "'echo 1000 > /proc/self/oom_score_adj; exec tail -c 268435456'";

TEST_CASE("the memory limit stops an agent that allocates past it") {
    Host h;
    std::string p = h.profile("mem", "name='mem'\nextends='readonly-t'\n[limits]\nmemory = '64M'\n");
    auto r = h.run({"--profile", p, "--user", kAgentUser, "--", "sh", "-c",
                    "head -c 268435456 /dev/zero | sh -c " + kHog + " > /dev/null; echo tail=$?"});
    CHECK_THAT(r.out, Catch::Contains("tail=137"));  // SIGKILL from the OOM killer
    auto ok = h.run({"--profile", h.profile("mem2", "name='mem2'\nextends='readonly-t'\n[limits]\nmemory='1G'\n"),
                     "--user", kAgentUser, "--", "sh", "-c",
                     "head -c 67108864 /dev/zero | sh -c " + kHog + " > /dev/null; echo tail=$?"});
    CHECK_THAT(ok.out, Catch::Contains("tail=0"));
}

TEST_CASE("the cpu limit throttles a busy agent") {
    Host h;
    std::string p = h.profile("cpu", "name='cpu'\nextends='readonly-t'\n[limits]\ncpu = '10%'\n");
    Background b(h.run_argv({"--profile", p, "--user", kAgentUser, "--", "sh", "-c",
                             "timeout 1 sh -c 'while :; do :; done'; echo busy-done; sleep 30"}),
                 h.env());
    REQUIRE(b.wait_for_output("busy-done", 20000));
    auto s = h.sessions();
    REQUIRE(s.size() == 1);
    auto usage = sandboxd::cgroup_cpu_usage_usec(s[0].record.cgroup);
    REQUIRE(usage.ok());
    // One second of wall time at 10% of a CPU: ~100 ms, far from the ~1 s
    // an unthrottled loop burns.
    CHECK(*usage < 400000);
    REQUIRE(h.ctl({"kill", s[0].record.id}).status == 0);
}

// Limits the kernel keeps per host-wide pool or per user, which the agent
// shares with the user's own processes and other sessions: a session took
// all 3,071 terminals the pool had (another session's openpty() then
// failed), and the user's whole queue of pending signals (timer_create()
// failed for the user's other processes). A red-team finding.
TEST_CASE("a session holds at most 256 terminals and half of its user's signal queue") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--", "python3", "-c",
                    "import os\nfds=[]\ntry:\n    for i in range(400): fds.append(os.openpty())\n"
                    "except OSError as e: print('ptys', len(fds), e.errno)\n"
                    "print([l.split()[3] for l in open('/proc/self/limits') if l.startswith('Max pending signals')][0])"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("ptys 256 28\n"));  // ENOSPC
    rlimit mine{};
    REQUIRE(::getrlimit(RLIMIT_SIGPENDING, &mine) == 0);
    CHECK_THAT(r.out, Catch::EndsWith(std::to_string(mine.rlim_max / 2) + "\n"));
}
