// A session from start to end: state entry, journal, cgroup, signals,
// cleanup however it ends.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "base/file_io.h"
#include "bpf/session_programs.h"
#include "cgroup/abandoned.h"
#include "cgroup/control.h"
#include "cgroup/layout.h"
#include "journal/journal.h"
#include "session/record.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

std::vector<nlohmann::json> journal_of(const Host& h) {
    auto dirs = list_dir(h.state / "sessions");
    REQUIRE(dirs.size() == 1);
    auto lines = sandboxd::read_journal(h.state / ("sessions/" + dirs[0] + "/journal.jsonl"));
    REQUIRE(lines.ok());
    std::vector<nlohmann::json> out;
    for (auto& l : *lines) out.push_back(l.value);
    return out;
}

}  // namespace

TEST_CASE("a session is recorded while it runs and journaled from start to end") {
    Host h;
    Background b(h.run_argv({"--user", kAgentUser, "--name", "demo", "--profile", "workspace", "--workspace",
                             h.ws.path(), "--", "sh", "-c",
                             "echo up; while [ ! -e go ]; do sleep 0.02; done; exit 4"}),
                 h.env());
    REQUIRE(b.wait_for_output("up", 10000));
    auto s = h.wait_for_session(1);
    CHECK(s.record.name == "demo");
    CHECK(s.record.profile == "workspace");
    CHECK(s.record.uid == 4242);
    CHECK(s.record.workspace == h.ws.path());
    CHECK(path_exists(s.record.cgroup));
    // The agent's pid is added to the entry right after the exec.
    for (int i = 0; i < 200 && h.sessions()[0].record.agent_pid == 0; ++i) sleep_ms(10);
    CHECK(h.sessions()[0].record.agent_pid > 0);
    CHECK(path_exists(h.runtime / ("sessions/" + s.record.id + ".json")));
    h.ws.write("go", "");
    CHECK(b.wait(10000).status == 4);

    CHECK(list_dir(h.runtime / "sessions").empty());
    CHECK_FALSE(path_exists(s.record.cgroup));
    for (const auto& v1 : s.record.cgroup_v1) CHECK_FALSE(path_exists(v1));

    // Session lines, without the exec events between them.
    std::vector<nlohmann::json> j;
    for (auto& line : journal_of(h))
        if (line["action"].get<std::string>().starts_with("session.")) j.push_back(line);
    REQUIRE(j.size() == 2);
    CHECK(j[0]["seq"] == 1);
    CHECK(j[0]["action"] == "session.start");
    CHECK(j[0]["session"] == s.record.id);
    CHECK(j[0]["detail"]["profile"] == "workspace");
    CHECK(j[0]["detail"]["tier"] == 2);
    CHECK(j[0]["detail"]["uid"] == 4242);
    CHECK(j[0]["detail"]["argv"][0] == "sh");
    CHECK(j[0]["undo"]["op"] == "session.kill");
    CHECK(j[1]["seq"] > 1);
    CHECK(j[1]["action"] == "session.end");
    CHECK(j[1]["detail"]["exit_code"] == 4);
}

TEST_CASE("processes the agent leaves behind die with the session") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--", "sh", "-c", "setsid sleep 1234.25 & sleep 1234.25 & exit 0"});
    CHECK(r.status == 0);
    CHECK(count_processes_with("sleep 1234.25") == 0);
    CHECK(journal_of(h).back()["action"] == "session.end");
}

TEST_CASE("SIGKILL of the agent: status 137 / cgroup and state entry gone") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--", "sh", "-c", "sleep 1234.75 & kill -KILL $$"});
    CHECK(r.status == 137);
    CHECK(count_processes_with("sleep 1234.75") == 0);
    CHECK(list_dir(h.runtime / "sessions").empty());
    CHECK(list_dir(h.runtime / "sessions").empty());
}

TEST_CASE("SIGTERM / SIGINT and SIGHUP sent to sandbox-run reach the agent") {
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
        INFO("signal " << sig);
        Host h;
        Background b(h.run_argv({"--user", kAgentUser, "--", "sh", "-c",
                                 "trap 'exit 42' TERM; trap 'exit 43' INT; trap 'exit 44' HUP; echo ready; "
                                 "while :; do sleep 0.05; done"}),
                     h.env());
        REQUIRE(b.wait_for_output("ready", 10000));
        REQUIRE(kill(b.pid(), sig) == 0);
        auto r = b.wait(10000);
        CHECK(r.status == (sig == SIGTERM ? 42 : sig == SIGINT ? 43 : 44));
        CHECK(list_dir(h.runtime / "sessions").empty());
    }
}

TEST_CASE("a state entry left by a dead supervisor with an empty cgroup is cleared by the next run") {
    Host h;
    sandboxd::SessionRecord rec;
    rec.id = "feedfacecafe";
    rec.supervisor_pid = 999999;
    rec.supervisor_start = 12345;
    rec.cgroup = "/sys/fs/cgroup/unified/sandboxd/feedfacecafe";
    REQUIRE(sandboxd::make_dirs(h.runtime / "sessions", 0755).ok());
    REQUIRE(sandboxd::write_record(h.runtime / "sessions/feedfacecafe.json", rec).ok());
    auto ps = h.ctl({"ps"});
    CHECK_THAT(ps.out, Catch::Contains("feedfacecafe  -             stale"));
    REQUIRE(h.run({"--user", kAgentUser, "--", "true"}).status == 0);
    CHECK(list_dir(h.runtime / "sessions").empty());
}

TEST_CASE("a corrupt state entry is reported by ps and hides no other session") {
    Host h;
    REQUIRE(sandboxd::make_dirs(h.runtime / "sessions", 0755).ok());
    std::ofstream(h.runtime / "sessions/bad.json") << "{not json";
    Background b(h.run_argv({"--user", kAgentUser, "--", "sh", "-c", "echo up; sleep 30"}), h.env());
    REQUIRE(b.wait_for_output("up", 10000));
    auto ps = h.ctl({"ps"});
    CHECK(ps.status == 0);
    CHECK_THAT(ps.err, Catch::Contains("skipped: " + h.runtime / "sessions/bad.json: not a JSON object"));
    CHECK_THAT(ps.out, Catch::Contains("running"));
    auto k = h.ctl({"kill", "--all"});
    INFO(k.err);
    REQUIRE(k.status == 0);
}

TEST_CASE("every exec in the session is journaled / with nothing from outside it") {
    Host h;
    Background outsider({"/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; sleep 0.02; done"});
    auto r = h.run({"--user", kAgentUser, "--", "sh", "-c", "/bin/true; /usr/bin/env true; sleep 0.3"});
    REQUIRE(r.status == 0);
    outsider.wait(10000);
    int execs = 0, true_runs = 0;
    for (const auto& j : journal_of(h)) {
        if (j["action"] != "exec") continue;
        ++execs;
        CHECK(j["layer"] == "tracepoint");
        CHECK(j["decision"] == "allow");
        if (j["target"] == "/bin/true") ++true_runs;
    }
    CHECK(true_runs == 1);  // the agent's one, none of the outsider's ten
    CHECK(execs >= 5);      // sh, /bin/true, env, true, sleep
}

// The kernel names an exec through a descriptor "/dev/fd/N", which says
// nothing of the program (a red-team finding): the line names it too, as
// /proc shows it while the process lives.
TEST_CASE("an exec through a descriptor is journaled with the program it ran") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--", "/usr/bin/python3", "-c",
                    "import os\nfd = os.open('/usr/bin/sleep', os.O_RDONLY)\nos.execve(fd, ['sleep', '0.5'], {})\n"});
    REQUIRE(r.status == 0);
    bool named = false;
    for (const auto& j : journal_of(h))
        if (j["action"] == "exec" && j["target"].get<std::string>().starts_with("/dev/fd/")) {
            INFO(j.dump());
            named = j["detail"].is_object() && j["detail"]["program"] == "/usr/bin/sleep";
        }
    CHECK(named);
}

TEST_CASE("events reach the journal while the session runs - not only at its end") {
    // The BPF programs wake the supervisor only once a batch is waiting; a
    // few events must still show up within its read interval.
    Host h;
    Background b(h.run_argv({"--user", kAgentUser, "--profile", "workspace", "--workspace", h.ws.path(), "--", "sh",
                             "-c", "/bin/true; echo up; while [ ! -e go ]; do sleep 0.02; done"}),
                 h.env());
    REQUIRE(b.wait_for_output("up", 10000));
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
        for (const auto& j : journal_of(h))
            if (j["action"] == "exec" && j["target"] == "/bin/true") seen = true;
        if (!seen) sleep_ms(20);
    }
    h.ws.write("go", "");
    CHECK(b.wait(10000).status == 0);
    CHECK(seen);
}

// Past the first 1024 refusals only every power of two is journaled, with
// the count, and the totals come at the end: a loop of refused opens or
// execs wrote a line each, 60 MB a second, which filled the journal's disk
// (and the supervisor spent more CPU on them than the agent). A red-team
// finding.
TEST_CASE("a flood of refused opens: a bounded journal - each one journaled, sampled out or counted as dropped") {
    Host h;
    h.ws.write("flood.py",
               "import os\n"
               "for i in range(100000):\n"
               "    try: os.open('/root/.sandboxd-flood', os.O_RDONLY)\n"
               "    except OSError: pass\n");
    auto r = h.run({"--user", kAgentUser, "--profile", "workspace", "--workspace", h.ws.path(), "--", "python3",
                    "flood.py"});
    REQUIRE(r.status == 0);
    uint64_t journaled = 0, dropped = 0, sampled_out = 0, refused = 0, counted = 0;
    for (const auto& j : journal_of(h)) {
        if (j["action"] == "events.dropped") dropped += j["detail"]["count"].get<uint64_t>();
        if (j["action"] == "file.sampled") {
            sampled_out = j["detail"]["not_journaled"].get<uint64_t>();
            refused = j["detail"]["refused"].get<uint64_t>();
        }
        if (j["action"] == "file.read" && j["target"] == "/root/.sandboxd-flood") {
            ++journaled;
            CHECK(j["decision"] == "deny");
            if (j["detail"].contains("so_far")) ++counted;
        }
    }
    INFO("journaled " << journaled << ", dropped " << dropped << ", sampled out " << sampled_out);
    CHECK(journaled + dropped + sampled_out == 100000);
    CHECK(refused >= 100000);
    CHECK(journaled > 0);
    CHECK(journaled <= 1024 + 7);  // then 2048, 4096 ... 65536
    CHECK(counted <= 7);
}

TEST_CASE("file operations that change something or are refused are journaled once - by the gate or the event stream - reads are counted") {
    Host h;
    // No destroy trees: these come from the syscall tracepoints, but for
    // the creation of new.txt, which the gate makes (the workspace profile
    // guards .git names that do not exist) and journals itself, once.
    std::string prof = h.profile("no-destroy", "name = 'no-destroy'\nextends = 'workspace'\n[filesystem]\ndestroy = []\n");
    auto r = h.run({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "echo x > new.txt; mkdir d; rm new.txt; cat /etc/hostname > /dev/null; "
                    "echo y > /var/tmp/sandboxd-refused; exit 0"});
    REQUIRE(r.status == 0);
    std::map<std::string, nlohmann::json> by_action_target;
    uint64_t reads = 0;
    for (const auto& j : journal_of(h)) {
        std::string action = j["action"];
        if (action == "file.reads") reads = j["detail"]["count"];
        if (action.starts_with("file.")) by_action_target[action + " " + j["target"].get<std::string>()] = j;
    }
    CHECK_FALSE(by_action_target.count("file.write new.txt"));
    REQUIRE(by_action_target.count("file.create " + h.ws / "new.txt"));
    CHECK(by_action_target["file.create " + h.ws / "new.txt"]["decision"] == "allow");
    CHECK(by_action_target["file.create " + h.ws / "new.txt"]["layer"] == "seccomp-notify");
    REQUIRE(by_action_target.count("file.mkdir d"));
    // Refusals of calls the gate carries out as the agent: the kernel's,
    // journaled by the gate with host paths.
    const std::string unlink = "file.unlink " + h.ws / "new.txt";
    REQUIRE(by_action_target.count(unlink));
    CHECK(by_action_target[unlink]["decision"] == "deny");  // no destroy tree
    CHECK(by_action_target[unlink]["errno"] == EACCES);
    CHECK(by_action_target[unlink]["layer"] == "kernel");
    CHECK_FALSE(by_action_target.count("file.unlink new.txt"));
    auto refused = by_action_target.find("file.open-truncate /var/tmp/sandboxd-refused");
    REQUIRE(refused != by_action_target.end());
    CHECK(refused->second["decision"] == "deny");
    CHECK((refused->second["errno"] == EROFS || refused->second["errno"] == EACCES));
    CHECK(reads > 0);
    CHECK_FALSE(path_exists("/var/tmp/sandboxd-refused"));
    CHECK(path_exists(h.ws / "new.txt"));
}

TEST_CASE("a path too long for the event stream is marked cut in the journal - never shown as if whole") {
    Host h;
    // 260 bytes of "./" before the name: the name itself does not fit.
    std::string padded;
    for (int i = 0; i < 130; ++i) padded += "./";
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                    "python3", "-c", "import os; os.mkdir('" + padded + "hidden-name'); os.mkdir('short-name')"});
    REQUIRE(r.status == 0);
    bool cut = false, whole = false;
    for (const auto& j : journal_of(h)) {
        if (j["action"] != "file.mkdir") continue;
        std::string target = j["target"];
        if (target == "short-name") whole = !j["detail"].contains("path_cut");
        if (target.starts_with("././")) cut = target.ends_with("\u2026[cut]") && j["detail"]["path_cut"] == true;
    }
    CHECK(cut);
    CHECK(whole);
}

TEST_CASE("every file syscall the event stream watches reaches the journal from its own tracepoint - refusals of each") {
    // The list sandbox-run attaches to, so that the two cannot drift apart.
    const auto calls = sandboxd::SessionPrograms::watched_file_syscalls();
    const std::vector<std::string> creating = {"mkdir", "mkdirat", "mknod", "mknodat", "symlink", "symlinkat"};
    auto is_creating = [&](const std::string& c) { return std::find(creating.begin(), creating.end(), c) != creating.end(); };
    // Each call refused once, on a path of its own outside every write
    // tree; under the snapshot gate openat2 and the newest calls are
    // ENOSYS (not a decision), so a second session runs without a gate
    // (no write or destroy trees, and no protected path missing from the
    // workspace for the gate to guard).
    auto refused_calls = [&](bool gate) {
        Host h;
        TempDir outside("sandboxd-calls", "/var/tmp");
        REQUIRE(chmod(outside.path().c_str(), 0755) == 0);
        for (const auto& c : calls) {
            if (is_creating(c) || c.starts_with("exec")) continue;
            if (c == "rmdir") REQUIRE(mkdir((outside / c).c_str(), 0755) == 0);
            else plant_file(outside / c, "x");
        }
        for (const char* c : {"execve", "execveat"}) {
            REQUIRE(std::filesystem::copy_file("/bin/true", h.ws / c));
            REQUIRE(chmod((h.ws / c).c_str(), 0755) == 0);
        }
        std::string prof = gate ? h.workspace_profile
                                : h.profile("no-gate", "name = 'no-gate'\nextends = '" + h.workspace_profile +
                                                           "'\n[filesystem]\nwrite = []\ndestroy = []\nprotect = []\n");
        auto r = h.run({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--",
                        testcase("file_calls"), outside.path(), h.ws.path()});
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        std::set<std::string> reported;
        for (const auto& j : journal_of(h)) {
            if (j["layer"] != "tracepoint" || j["decision"] != "deny") continue;
            std::string target = j["target"];
            for (const auto& c : calls) {
                std::string in = c.starts_with("exec") ? std::string(h.ws / c) : std::string(outside / c);
                if (target == in || target.starts_with(in + " -> ") || target.ends_with(" -> " + in)) reported.insert(c);
            }
        }
        // And none of it landed.
        for (const auto& c : creating) CHECK_FALSE(path_exists(outside / c));
        CHECK(*sandboxd::read_file(outside / "truncate") == "x");
        return reported;
    };
    auto reported = refused_calls(true);
    auto without_gate = refused_calls(false);
    reported.insert(without_gate.begin(), without_gate.end());
    CHECK(calls.size() >= 34);
    for (const auto& c : calls) {
        INFO(c);
        CHECK(reported.count(c));
    }
}

TEST_CASE("successful reads: counted by default - journaled one by one when the profile asks") {
    Host h;
    auto run_and_scan = [&](const std::string& profile) {
        for (const auto& id : list_dir(h.state / "sessions")) std::filesystem::remove_all(h.state / ("sessions/" + id));
        auto r = h.run({"--user", kAgentUser, "--profile", profile, "--workspace", h.ws.path(), "--", "sh", "-c",
                        "cat /etc/hostname /etc/hostname > /dev/null"});
        REQUIRE(r.status == 0);
        int lines = 0;
        uint64_t count = 0;
        for (const auto& j : journal_of(h)) {
            if (j["action"] == "file.reads") count = j["detail"]["count"];
            if (j["action"] == "file.read" && j["target"] == "/etc/hostname") {
                ++lines;
                CHECK(j["decision"] == "allow");
                CHECK(j["rule"] == "filesystem.read");
                CHECK(j["comm"] == "cat");
            }
        }
        return std::pair<int, uint64_t>{lines, count};
    };
    auto counted = run_and_scan(h.workspace_profile);
    CHECK(counted.first == 0);
    CHECK(counted.second >= 2);
    std::string prof = h.profile("reads", "name = 'reads'\nextends = '" + h.workspace_profile + "'\n[events]\nreads = true\n");
    auto journaled = run_and_scan(prof);
    CHECK(journaled.first == 2);
    CHECK(journaled.second >= 2);
}

TEST_CASE("the snapshot gate journals destructive operations with host paths - snapshots and undo records") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--profile", "workspace", "--workspace", h.ws.path(), "--", "sh", "-c",
                    "echo x > new.txt; mv new.txt moved.txt; rm moved.txt; mkdir d; "
                    "echo y > /var/tmp/sandboxd-refused; exit 0"});
    REQUIRE(r.status == 0);
    std::map<std::string, nlohmann::json> by_action_target;
    for (const auto& j : journal_of(h))
        if (j["layer"] == "seccomp-notify" || j["layer"] == "kernel") by_action_target[j["action"].get<std::string>() + " " + j["target"].get<std::string>()] = j;
    std::string ws = h.ws.path();
    REQUIRE(by_action_target.count("file.create " + ws + "/new.txt"));
    CHECK(by_action_target["file.create " + ws + "/new.txt"]["undo"]["op"] == "remove");
    REQUIRE(by_action_target.count("file.rename " + ws + "/new.txt -> " + ws + "/moved.txt"));
    auto& unlinked = by_action_target["file.unlink " + ws + "/moved.txt"];
    CHECK(unlinked["decision"] == "allow");
    CHECK(unlinked["rule"] == "filesystem.destroy");
    CHECK(unlinked["snapshot"].is_string());
    // mkdir changes nothing that was there: the event stream's line, not
    // the gate's (rollback takes the directory away by its birth time).
    CHECK_FALSE(by_action_target.count("dir.create " + ws + "/d"));
    int mkdirs = 0;
    for (const auto& j : journal_of(h)) mkdirs += j["action"] == "file.mkdir" && j["target"] == "d";
    CHECK(mkdirs == 1);
    auto refused = by_action_target.find("file.open-truncate /var/tmp/sandboxd-refused");
    REQUIRE(refused != by_action_target.end());
    CHECK(refused->second["decision"] == "deny");
    CHECK(refused->second["errno"] == EROFS);
    CHECK_FALSE(path_exists("/var/tmp/sandboxd-refused"));
}

TEST_CASE("audit mode: nothing is denied / every would-be denial is journaled with its rule") {
    Host h;
    TempDir outside("sandboxd-audit", "/var/tmp");
    REQUIRE(chown(outside.path().c_str(), kAgentUid, kAgentGid) == 0);
    std::string target = outside / "landed.txt";
    auto r = h.run({"--user", kAgentUser, "--profile", "workspace", "--audit", "--workspace", h.ws.path(), "--", "sh",
                    "-c", "echo x > " + target + "; echo y > inside.txt; exit 0"});
    REQUIRE(r.status == 0);
    CHECK(path_exists(target));  // audit mode let it through
    bool logged = false, inside_allowed = false;
    for (const auto& j : journal_of(h)) {
        // The snapshot gate journals the shell's O_TRUNC|O_CREAT opens.
        if (j["action"] != "file.write" && j["action"] != "file.create") continue;
        if (j["target"] == target) {
            logged = j["decision"] == "log" && j["rule"] == "would be denied: filesystem.write: outside every write tree";
        }
        if (j["target"] == "inside.txt" || j["target"] == h.ws / "inside.txt")
            inside_allowed = j["decision"] == "allow";
    }
    CHECK(logged);
    CHECK(inside_allowed);
}

TEST_CASE("audit mode: a syscall the profile denies runs and is journaled with its rule") {
    Host h;
    std::string prof = h.profile("no-uname", "name = 'no-uname'\nextends = '" + h.workspace_profile +
                                                 "'\n[syscalls]\ndeny = ['uname']\n");
    auto enforced = h.run({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--", "uname", "-s"});
    CHECK(enforced.status != 0);  // control: enforcing, uname(2) fails with EPERM
    Host h2;
    auto r = h2.run({"--user", kAgentUser, "--profile", prof, "--audit", "--workspace", h2.ws.path(), "--", "uname", "-s"});
    INFO(r.err);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("Linux"));
    bool logged = false;
    for (const auto& j : journal_of(h2))
        if (j["action"] == "syscall" && j["target"] == "uname")
            logged = j["decision"] == "log" && j["rule"] == "would be denied: syscalls.deny uname" && j["comm"] == "uname";
    CHECK(logged);
}

// A syscall the gate carries out (chmod: snapshot of the old mode, then
// done) reaches the gate for that reason in audit mode too; the profile's
// denial of it must still be on the record (a red-team helper saw only
// "allow").
TEST_CASE("audit mode: a denied syscall the gate carries out is journaled as a would-be denial too") {
    Host h;
    plant_file(h.ws / "f", "x");
    std::string prof = h.profile("no-chmod", "name = 'no-chmod'\nextends = '" + h.workspace_profile +
                                                 "'\n[syscalls]\ndeny = ['chmod', 'fchmodat']\n");
    auto r = h.run({"--user", kAgentUser, "--profile", prof, "--audit", "--workspace", h.ws.path(), "--", "chmod", "600", "f"});
    INFO(r.err);
    CHECK(r.status == 0);
    struct stat st{};
    REQUIRE(::stat((h.ws / "f").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    bool logged = false;
    for (const auto& j : journal_of(h))
        if (j["action"] == "syscall" && j["target"] == "fchmodat")
            logged = j["decision"] == "log" && j["rule"] == "would be denied: syscalls.deny fchmodat";
    CHECK(logged);
}

TEST_CASE("sandboxctl log: a finished session's journal as a table and as JSON Lines") {
    Host h;
    REQUIRE(h.run({"--user", kAgentUser, "--", "sh", "-c", "exit 3"}).status == 3);
    auto ids = list_dir(h.state / "sessions");
    REQUIRE(ids.size() == 1);
    auto table = h.ctl({"log", ids[0].substr(0, 5)});
    REQUIRE(table.status == 0);
    CHECK_THAT(table.out, Catch::StartsWith("   SEQ  TIME"));
    CHECK_THAT(table.out, Catch::Contains("session.start"));
    CHECK_THAT(table.out, Catch::Contains("session.end"));
    auto json = h.ctl({"log", ids[0], "--json"});
    REQUIRE(json.status == 0);
    CHECK(json.out == *sandboxd::read_file(h.state / ("sessions/" + ids[0] + "/journal.jsonl")));
    // A corrupt line is reported and skipped, the rest still shown.
    std::ofstream(h.state / ("sessions/" + ids[0] + "/journal.jsonl"), std::ios::app) << "{garbage\n";
    auto again = h.ctl({"log", ids[0]});
    CHECK(again.status == 0);
    CHECK_THAT(again.err, Catch::Contains("is not a journal line; skipped"));
    CHECK_THAT(again.out, Catch::Contains("session.end"));
    CHECK(h.ctl({"log", "ffffffffffff"}).status == 2);
}

TEST_CASE("sandboxctl log and rollback: escape sequences in names the agent chose reach the terminal as text") {
    Host h;
    // Retitles the window and clears the screen, if printed as it is.
    REQUIRE(h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--", "sh",
                   "-c", "n=$(printf 'evil\\033]0;PWNED\\007\\033[2J'); echo x > \"$n\"; rm \"$n\""})
                .status == 0);
    auto id = only_session(h);
    auto json = h.ctl({"log", id, "--json"});
    REQUIRE(json.out.find("\\u001b]0;PWNED") != std::string::npos);  // the journal has the name
    for (const auto& args : std::vector<std::vector<std::string>>{{"log", id}, {"rollback", id, "--dry-run"}}) {
        auto r = h.ctl(args);
        INFO(args[0] << ": " << r.out << r.err);
        CHECK(r.status == 0);
        CHECK(r.out.find('\x1b') == std::string::npos);
        CHECK(r.err.find('\x1b') == std::string::npos);
        CHECK(r.out.find('\x07') == std::string::npos);
        CHECK_THAT(r.out, Catch::Contains("evil\\x1b]0;PWNED\\x07\\x1b[2J"));
    }
}

// The journal's disk full: the gate refused destructive calls, but the
// agent ran on with none of its execs or refusals journaled, and nothing
// said that lines were lost. A red-team finding. Now the session ends at
// the first line that cannot be written, and sandbox-run says so (125).
TEST_CASE("a journal that cannot be written ends the session - and says how many lines were lost") {
    Host h;
    // Past the room the journal keeps ahead (4 MiB), a few thousand lines.
    REQUIRE(::mount("tmpfs", h.state.path().c_str(), "tmpfs", 0, "size=6m,mode=0755") == 0);
    Unmount unmount{h.state.path()};
    h.ws.write("fill.py",
               "import os\n"
               "made = 0\n"
               "for i in range(200000):\n"
               "    try: os.close(os.open('f%06d-%s' % (i, 'x' * 150), os.O_WRONLY | os.O_CREAT, 0o600)); made += 1\n"
               "    except OSError: pass\n"
               "print('finished', made)\n");
    auto r = h.run({"--user", kAgentUser, "--profile", "workspace", "--workspace", h.ws.path(), "--", "python3",
                    "fill.py"});
    INFO(r.out << r.err);
    CHECK(r.status == 125);
    CHECK_THAT(r.err, Catch::Contains("journal cannot take more lines (no room"));
    CHECK_THAT(r.err, Catch::Contains("the session was ended: its journal cannot take more lines"));
    CHECK_THAT(r.out, !Catch::Contains("finished"));
}

// Allowed actions journal a line each too: a loop of utimes wrote 64 MB a
// second (a red-team finding). Past the profile's journal limit the
// session ends, as when the journal's disk is full.
TEST_CASE("a session whose journal passes the profile's limit is ended - and says so") {
    Host h;
    std::string p = h.profile("small-journal", "name='small-journal'\nextends='workspace-t'\n[events]\njournal_limit='2M'\n");
    h.ws.write("touch.py",
               "import os\n"
               "open('f', 'w').close()\n"
               "for i in range(300000): os.utime('f')\n"
               "print('finished')\n");
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "python3", "touch.py"});
    INFO(r.out << r.err);
    CHECK(r.status == 125);
    CHECK_THAT(r.err, Catch::Contains("the session was ended: its journal cannot take more lines (it reached the "
                                      "profile's limit of 2097152 bytes"));
    CHECK_THAT(r.out, !Catch::Contains("finished"));
    struct stat st{};
    REQUIRE(::stat(h.dirs().journal_path(only_session(h)).c_str(), &st) == 0);
    CHECK(st.st_size < 8 << 20);
}

// A supervisor killed before its clean-up leaves its cgroups, each holding
// the session's BPF programs in the kernel. Its state entry, which the next
// run reaps, may be gone too (another state directory, removed since):
// the bench and the test suite left one such set of cgroups a run.
TEST_CASE("cgroups of a killed supervisor are removed by the next run, whatever its state directory") {
    std::vector<std::string> left;
    {
        Host h;
        std::string p = h.profile("limited", "name='limited'\nextends='readonly-t'\n[limits]\npids = 256\n");
        Background b(h.run_argv({"--profile", p, "--user", kAgentUser, "--", "sh", "-c", "echo up; sleep 30"}), h.env());
        REQUIRE(b.wait_for_output("up", 10000));
        auto s = h.wait_for_session(1);
        left = s.record.cgroup_v1;
        left.push_back(s.record.cgroup);
        kill(b.pid(), SIGKILL);
        b.wait(5000);
        for (int i = 0; i < 200 && count_processes_with("sleep 30") > 0; ++i) sleep_ms(10);
    }  // its state directory is gone with its Host
    for (const auto& c : left) REQUIRE(path_exists(c));

    // A live session of a third state directory is not touched.
    Host live;
    Background b(live.run_argv({"--user", kAgentUser, "--", "sh", "-c", "echo up; sleep 30"}),
                 live.env());
    REQUIRE(b.wait_for_output("up", 10000));
    auto s = live.wait_for_session(1);

    Host next;
    REQUIRE(next.run({"--user", kAgentUser, "--", "true"}).status == 0);
    for (const auto& c : left) CHECK_FALSE(path_exists(c));
    CHECK(path_exists(s.record.cgroup));
    REQUIRE(live.sessions().size() == 1);
    CHECK(live.sessions()[0].state == sandboxd::SessionState::Running);
    REQUIRE(live.ctl({"kill", "--all"}).status == 0);
}

// The rule itself, on real cgroups: owner alive, owner gone, no mark (young
// or old), and a gone owner's cgroup that still has a process.
TEST_CASE("the abandoned-cgroup sweep removes only empty cgroups whose supervisor is gone") {
    auto real = sandboxd::detect_cgroup_host();
    REQUIRE(real.ok());
    // A cgroup tree of its own: every sandbox-run sweeps the real one, and
    // ctest runs another test's sessions meanwhile. Sweeping the real tree
    // here, with no age limit, would take away their cgroups being set up.
    sandboxd::CgroupHost host = *real;
    host.v2_root = real->v2_root + "/sandboxd-sweeptest";
    host.v1_mounts.clear();
    std::string base = host.v2_base();
    REQUIRE(sandboxd::make_dirs(base, 0755).ok());
    auto make = [&](const std::string& name) {
        std::string dir = base + "/" + name;
        (void)::rmdir(dir.c_str());  // left by an earlier run that failed half-way
        REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
        return dir;
    };
    std::string mine = make("sweeptest-mine"), dead = make("sweeptest-dead"), unmarked = make("sweeptest-unmarked"),
                busy = make("sweeptest-busy"), foreign = make("sweeptest-foreign");
    REQUIRE(sandboxd::mark_cgroup_owner(mine).ok());
    // A pid that has exited: its start time no longer matches.
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    waitpid(gone, nullptr, 0);
    struct stat ns{};
    REQUIRE(::stat("/proc/self/ns/pid", &ns) == 0);
    auto mark = [&](const std::string& dir, uint64_t pidns) {
        std::string v = std::to_string(gone) + " 1 " + std::to_string(pidns);
        REQUIRE(::setxattr(dir.c_str(), "trusted.sandboxd.supervisor", v.data(), v.size(), 0) == 0);
    };
    mark(dead, ns.st_ino);
    mark(busy, ns.st_ino);
    // A supervisor in another pid namespace (a container): its pid means
    // nothing here, so it is not taken for gone (a red-team finding: such
    // sessions lost their cgroups while being set up).
    mark(foreign, ns.st_ino + 1);
    Background sleeper({"/bin/sleep", "30"});
    REQUIRE(sandboxd::write_file(busy + "/cgroup.procs", std::to_string(sleeper.pid())).ok());

    auto dry = sandboxd::sweep_abandoned_cgroups(host, true);
    CHECK(std::count(dry.removed.begin(), dry.removed.end(), dead) == 1);
    CHECK(path_exists(dead));

    auto swept = sandboxd::sweep_abandoned_cgroups(host);
    CHECK(swept.problems.empty());
    CHECK(path_exists(mine));
    CHECK_FALSE(path_exists(dead));
    CHECK(path_exists(unmarked));  // young: maybe marked a moment from now
    CHECK(path_exists(foreign));   // young, and its supervisor cannot be looked up
    CHECK(path_exists(busy));      // orphaned processes: for sandboxctl kill
    CHECK(std::count(swept.removed.begin(), swept.removed.end(), busy) == 0);

    sandboxd::sweep_abandoned_cgroups(host, false, -1);  // every unmarked one is old enough now
    CHECK_FALSE(path_exists(unmarked));
    CHECK_FALSE(path_exists(foreign));
    CHECK(path_exists(mine));

    kill(sleeper.pid(), SIGKILL);
    sleeper.wait(5000);
    REQUIRE(sandboxd::cgroup_wait_empty(busy, 5000).ok());
    sandboxd::sweep_abandoned_cgroups(host);
    CHECK_FALSE(path_exists(busy));
    CHECK(::rmdir(mine.c_str()) == 0);
    CHECK(::rmdir(base.c_str()) == 0);
    CHECK(::rmdir(host.v2_root.c_str()) == 0);
}
