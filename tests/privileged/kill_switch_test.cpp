// The kill switch at the command line: ps, freeze, thaw, kill.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "cgroup/control.h"
#include "journal/journal.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

// Four busy loops in one session.
const std::vector<std::string> kBusyTree = {
    "sh", "-c", "for i in 1 2 3 4; do (while :; do :; done) & done; echo started; wait"};

uint64_t usage(const std::string& cg) {
    auto u = sandboxd::cgroup_cpu_usage_usec(cg);
    REQUIRE(u.ok());
    return *u;
}

}  // namespace

TEST_CASE("ps lists a live session with state / user / profile / age and process count") {
    Host h;
    Background b(h.run_argv({"--user", kAgentUser, "--name", "lister", "--profile", "workspace", "--workspace",
                             h.ws.path(), "--", "sh", "-c", "sleep 30 & sleep 30 & echo up; wait"}),
                 h.env());
    REQUIRE(b.wait_for_output("up", 10000));
    auto s = h.wait_for_session(3);
    auto ps = h.ctl({"ps"});
    REQUIRE(ps.status == 0);
    CHECK_THAT(ps.out, Catch::StartsWith("ID"));
    CHECK_THAT(ps.out, Catch::Contains(s.record.id + "  lister        running   4242        workspace"));
    auto js = h.ctl({"ps", "--json"});
    auto j = nlohmann::json::parse(js.out);
    CHECK(j["id"] == s.record.id);
    CHECK(j["state"] == "running");
    CHECK(j["processes"] == 4);  // sh, two sleeps, and the session's init
    CHECK(j["uid"] == 4242);
    REQUIRE(h.ctl({"kill", "lister"}).status == 0);  // by name
}

TEST_CASE("freeze stops a busy tree at once / thaw resumes it / kill ends it and cleans up") {
    Host h;
    Background b(h.run_argv({"--user", kAgentUser, "--", kBusyTree[0], kBusyTree[1], kBusyTree[2]}), h.env());
    REQUIRE(b.wait_for_output("started", 10000));
    auto s = h.wait_for_session(5);
    const std::string cg = s.record.cgroup;

    auto fr = h.ctl({"freeze", s.record.id.substr(0, 6)});  // any unique prefix
    REQUIRE(fr.status == 0);
    CHECK_THAT(fr.out, Catch::Matches("frozen " + s.record.id + " in [0-9]+\\.[0-9]{3} ms\n"));
    CHECK(*sandboxd::cgroup_is_frozen(cg));
    CHECK(h.sessions()[0].state == sandboxd::SessionState::Frozen);
    uint64_t u0 = usage(cg);
    sleep_ms(500);
    uint64_t u1 = usage(cg);
    CHECK(u1 - u0 < 20000);  // four busy loops would burn ~1,000,000 us here
    // Frozen processes are still there to inspect.
    CHECK(*sandboxd::cgroup_process_count(cg) == 6);  // + the session's init

    auto th = h.ctl({"thaw", s.record.id});
    REQUIRE(th.status == 0);
    CHECK_THAT(th.out, Catch::StartsWith("thawed " + s.record.id));
    sleep_ms(500);
    CHECK(usage(cg) - u1 > 200000);

    auto k = h.ctl({"kill", s.record.id});
    REQUIRE(k.status == 0);
    CHECK_THAT(k.out, Catch::StartsWith("killed " + s.record.id));
    // kill returned only once empty (or already removed by the supervisor).
    auto left = sandboxd::cgroup_process_count(cg);
    CHECK((!left.ok() || *left == 0));
    auto r = b.wait(10000);
    CHECK(r.status == 128 + SIGKILL);
    CHECK_FALSE(path_exists(cg));
    CHECK(list_dir(h.runtime / "sessions").empty());

    // The journal names each admin action.
    auto lines = sandboxd::read_journal(s.record.journal);
    REQUIRE(lines.ok());
    std::vector<std::string> actions;
    int quiesced = 0, resumed = 0;
    for (const auto& l : *lines) {
        std::string action = l.value["action"];
        // The supervisor's own word that every line is written once frozen,
        // and that it runs again once thawed (before or after sandboxctl's
        // freeze and thaw lines).
        if (action == "session.quiesced") ++quiesced;
        else if (action == "session.resumed") ++resumed;
        else if (action.starts_with("session.")) actions.push_back(action);
    }
    CHECK(quiesced == 1);
    CHECK(resumed == 1);
    CHECK(actions == std::vector<std::string>{"session.start", "session.freeze", "session.thaw",
                                              "session.kill", "session.end"});
}

TEST_CASE("kill works on a frozen session / and --all reaches every session") {
    Host h;
    Background a(h.run_argv({"--user", kAgentUser, "--", "sleep", "60"}), h.env());
    Background b(h.run_argv({"--user", kAgentUser, "--", "sleep", "61"}), h.env());
    for (int i = 0; i < 500 && h.sessions().size() < 2; ++i) sleep_ms(10);
    REQUIRE(h.sessions().size() == 2);
    auto f = h.ctl({"freeze", "--all"});
    REQUIRE(f.status == 0);
    for (const auto& s : h.sessions()) CHECK(s.state == sandboxd::SessionState::Frozen);
    REQUIRE(h.ctl({"kill", "--all"}).status == 0);
    auto ra = a.wait(10000), rb = b.wait(10000);
    INFO(ra.err << rb.err);
    CHECK(ra.status == 137);
    CHECK(rb.status == 137);
    CHECK(h.sessions().empty());
}

TEST_CASE("bad kill-switch requests: clear error / nothing changed") {
    Host h;
    auto none = h.ctl({"freeze", "000000000000"});
    CHECK(none.status == 2);
    CHECK_THAT(none.err, Catch::Contains("no session matches '000000000000'"));
    auto both = h.ctl({"kill"});
    CHECK(both.status == 2);
    CHECK_THAT(both.err, Catch::Contains("give session ids or --all"));
    auto verb = h.ctl({"explode"});
    CHECK(verb.status == 2);
}

TEST_CASE("when the supervisor dies its session dies with it and the entry can be cleared") {
    Host h;
    Background b(h.run_argv({"--user", kAgentUser, "--", "sh", "-c",
                             "setsid sleep 1234.5 & echo up; wait"}),
                 h.env());
    REQUIRE(b.wait_for_output("up", 10000));
    auto s = h.wait_for_session(3);
    for (int i = 0; i < 200 && count_processes_with("sleep 1234.5") == 0; ++i) sleep_ms(10);
    REQUIRE(count_processes_with("sleep 1234.5") == 1);
    kill(b.pid(), SIGKILL);  // the supervisor, not the agent
    b.wait(5000);
    // The session's init had a parent-death signal; its end took the whole
    // pid namespace, the setsid'd sleep included.
    for (int i = 0; i < 200 && count_processes_with("sleep 1234.5") > 0; ++i) sleep_ms(10);
    CHECK(count_processes_with("sleep 1234.5") == 0);
    for (int i = 0; i < 200 && !h.sessions().empty() && h.sessions()[0].state != sandboxd::SessionState::Stale; ++i)
        sleep_ms(10);
    auto after = h.sessions();
    REQUIRE(after.size() == 1);
    CHECK(after[0].state == sandboxd::SessionState::Stale);
    auto ps = h.ctl({"ps"});
    CHECK_THAT(ps.out, Catch::Contains(s.record.id));
    CHECK_THAT(ps.out, Catch::Contains("stale"));
    REQUIRE(h.ctl({"kill", s.record.id}).status == 0);
    CHECK_FALSE(path_exists(s.record.cgroup));
    CHECK(h.sessions().empty());
}
