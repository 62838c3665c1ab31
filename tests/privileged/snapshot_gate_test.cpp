// The snapshot gate, attacked from inside real sessions: destructive calls
// must land only with their snapshot, only where the profile allows, and
// never on anything a racing agent swaps in from outside.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/file_io.h"
#include "journal/journal.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

std::vector<nlohmann::json> journal_lines(const Host& h, const std::string& id) {
    std::vector<nlohmann::json> out;
    auto text = sandboxd::read_file(h.dirs().journal_path(id));
    REQUIRE(text);
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
}

// Whether every session this host ran had the gate keep working
// directories and umasks (the session's first journal line says): the
// tests of those caches prove nothing where they are off.
bool gate_kept_caches(const Host& h) {
    auto ids = list_dir(h.state / "sessions");
    if (ids.empty()) return false;
    for (const auto& id : ids)
        if (journal_lines(h, id).front()["detail"].value("gate_caches", false) != true) return false;
    return true;
}

// The number on the line "WHAT N" of a racing program's report.
long counted(const std::string& out, const std::string& what) {
    size_t at = out.find(what + " ");
    REQUIRE(at != std::string::npos);
    return std::stol(out.substr(at + what.size() + 1));
}

}  // namespace

TEST_CASE("gate: a destroyed file is kept in the store and the journal line points at it") {
    Host h;
    plant_file(h.ws / "doomed.txt", "precious bytes");
    auto r = agent_sh(h, "rm doomed.txt && echo gone");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK_FALSE(path_exists(h.ws / "doomed.txt"));
    std::string id = only_session(h);
    bool found = false;
    for (const auto& j : journal_lines(h, id)) {
        if (j["action"] != "file.unlink" || j["layer"] != "seccomp-notify") continue;
        found = true;
        CHECK(j["target"] == h.ws / "doomed.txt");
        CHECK(j["decision"] == "allow");
        REQUIRE(j["snapshot"].is_string());
        std::string stored = j["undo"]["snapshot"];
        CHECK(*sandboxd::read_file(stored) == "precious bytes");
    }
    CHECK(found);
}

TEST_CASE("gate: each destroyed file has one journal line - the event stream does not repeat the gate's") {
    Host h;
    for (const char* f : {"a", "b", "c"}) plant_file(h.ws / f, f);
    plant_file(h.ws / "d/x", "x");
    auto r = agent_sh(h, "rm a b && mv c c2 && rm -r d && echo done");
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::map<std::string, int> lines;
    for (const auto& j : journal_lines(h, only_session(h))) {
        std::string action = j["action"];
        if (action != "file.unlink" && action != "file.rmdir" && action != "file.rename") continue;
        CHECK(j["layer"] == "seccomp-notify");
        ++lines[action + " " + j["target"].get<std::string>()];
    }
    std::string ws = h.ws.path();
    CHECK(lines == std::map<std::string, int>{{"file.unlink " + ws + "/a", 1},
                                              {"file.unlink " + ws + "/b", 1},
                                              {"file.rename " + ws + "/c -> " + ws + "/c2", 1},
                                              {"file.unlink " + ws + "/d/x", 1},
                                              {"file.rmdir " + ws + "/d", 1}});
}

// The gate journals more than destroys: chmod, opens for writing (with
// their snapshots), creates, truncates. Each of those also had a second
// line from its exit tracepoint, so a report counted every change twice.
// Calls the gate leaves unjournaled (in the session's own /tmp) keep the
// event stream's line.
TEST_CASE("gate: each call the gate journals has one line - chmod, create, open for writing, truncate") {
    Host h;
    plant_file(h.ws / "f", "old\n");
    auto r = agent_sh(h, "chmod 600 f && touch g && echo new > f && truncate -s 1 f && echo t > /tmp/t && echo done");
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::map<std::string, int> lines;
    std::string ws = h.ws.path();
    for (const auto& j : journal_lines(h, only_session(h))) {
        std::string action = j["action"], target = j["target"];
        if (!action.starts_with("file.") || action == "file.reads" || action == "file.utimes") continue;
        if (target.starts_with(ws + "/")) target = target.substr(ws.size() + 1);
        ++lines[action + " " + target + " " + j["layer"].get<std::string>()];
    }
    CHECK(lines == std::map<std::string, int>{{"file.chmod f seccomp-notify", 1},
                                              {"file.create g seccomp-notify", 1},
                                              {"file.open-truncate f seccomp-notify", 1},
                                              {"file.open-write f seccomp-notify", 1},
                                              {"file.truncate f seccomp-notify", 1},
                                              {"file.write /tmp/t tracepoint", 1}});
}

// In a container, sandbox-run is in a pid namespace of its own: the gate's
// notifications name threads by their ids there, while the kernel's
// programs saw the host's. The marks then matched nothing, every call the
// gate journaled had a second line, and the journal's pids disagreed.
TEST_CASE("gate: sandbox-run in a pid namespace of its own (a container) - one line a call, and pids that agree") {
    Host h;
    plant_file(h.ws / "f", "old\n");
    std::vector<std::string> argv = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"};
    for (const auto& a : h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(),
                                     "--", "sh", "-c", "chmod 600 f && touch g && echo new > f && rm g && echo done"}))
        argv.push_back(a);
    auto r = sandboxd::test::run(argv, h.env());
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::map<std::string, int> lines;
    std::map<std::string, int32_t> exec_pid, call_pid;
    std::string ws = h.ws.path();
    for (const auto& j : journal_lines(h, only_session(h))) {
        std::string action = j["action"], target = j["target"], comm = j.value("comm", "");
        if (action == "exec") exec_pid[comm] = j["pid"].get<int32_t>();
        if (!action.starts_with("file.") || action == "file.reads" || action == "file.utimes") continue;
        if (target.starts_with(ws + "/")) target = target.substr(ws.size() + 1);
        ++lines[action + " " + target + " " + j["layer"].get<std::string>()];
        call_pid[comm] = j["pid"].get<int32_t>();
    }
    CHECK(lines == std::map<std::string, int>{{"file.chmod f seccomp-notify", 1},
                                              {"file.create g seccomp-notify", 1},
                                              {"file.open-truncate f seccomp-notify", 1},
                                              {"file.unlink g seccomp-notify", 1}});
    // The gate's line of each program and the kernel's line of its exec
    // name one process; the session's processes are small numbers there.
    for (const char* comm : {"chmod", "touch", "rm"}) {
        INFO(comm);
        REQUIRE(exec_pid.count(comm));
        CHECK(call_pid[comm] == exec_pid[comm]);
        CHECK(exec_pid[comm] < 100);
    }
}

TEST_CASE("gate: the journal names the thread that asked - after it renamed itself and in threads that came and went") {
    Host h;
    for (int i = 0; i < 6; ++i) plant_file(h.ws / ("t" + std::to_string(i)), "x");
    // Each thread names itself, deletes a file, and ends before the next
    // starts; the main thread renames itself between two deletes of its own.
    std::string py =
        "import ctypes, os, threading\n"
        "libc = ctypes.CDLL(None)\n"
        "def name(n): libc.prctl(15, ctypes.c_char_p(n.encode()), 0, 0, 0)\n"
        "def work(i):\n"
        "    name('worker%d' % i); os.unlink('t%d' % i)\n"
        "for i in range(4):\n"
        "    t = threading.Thread(target=work, args=(i,)); t.start(); t.join()\n"
        "name('first'); os.unlink('t4'); name('second'); os.unlink('t5')\n";
    h.ws.write("agent.py", py);
    auto r = agent_sh(h, "python3 agent.py && echo done");
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::map<std::string, std::string> comm;
    for (const auto& j : journal_lines(h, only_session(h)))
        if (j["action"] == "file.unlink") comm[j["target"].get<std::string>()] = j["comm"];
    std::string ws = h.ws.path();
    for (int i = 0; i < 4; ++i) CHECK(comm[ws + "/t" + std::to_string(i)] == "worker" + std::to_string(i));
    CHECK(comm[ws + "/t4"] == "first");
    CHECK(comm[ws + "/t5"] == "second");
}

TEST_CASE("gate: errors are the kernel's own and a session-private /tmp needs no snapshot") {
    Host h;
    plant_file(h.ws / "dir/inner", "x");
    auto r = agent_sh(h,
                      "rm nothing 2>/dev/null; echo enoent=$?; "
                      "rmdir dir 2>&1 | grep -q 'not empty' && echo notempty; "
                      "unlink dir 2>&1 | grep -q 'Is a directory' && echo isdir; "
                      "echo t > /tmp/t && rm /tmp/t && echo tmp-ok; "
                      "rm /etc/hostname 2>/dev/null || echo outside-refused; "
                      "echo hi > /dev/null && echo devnull-ok; exec 3> own.txt; echo hi > /dev/fd/3 && echo fd-ok; "
                      "echo hi >> /proc/self/fd/3 && echo proc-fd-ok");
    INFO(r.err);
    CHECK_THAT(r.out, Catch::Contains("enoent=1") && Catch::Contains("notempty") && Catch::Contains("isdir") &&
                          Catch::Contains("tmp-ok") && Catch::Contains("outside-refused") &&
                          Catch::Contains("devnull-ok") && Catch::Contains("fd-ok") && Catch::Contains("proc-fd-ok"));
    CHECK(*sandboxd::read_file(h.ws / "own.txt") == "hi\nhi\n");
    CHECK(path_exists("/etc/hostname"));
    CHECK(path_exists(h.ws / "dir/inner"));
}

TEST_CASE("gate: over the snapshot budget the operation is refused and nothing is lost") {
    Host h;
    std::string big(64 * 1024, 'b');
    plant_file(h.ws / "big.txt", big);
    plant_file(h.ws / "small.txt", "s");
    std::string prof = h.profile("tight", "name = 'tight'\nextends = '" + h.workspace_profile +
                                              "'\n[snapshots]\nbudget = '16K'\n");
    auto r = h.run({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "rm small.txt && echo small-gone; echo x > big.txt || echo trunc-refused; "
                    "rm big.txt || echo rm-refused"});
    INFO(r.err);
    CHECK_THAT(r.out, Catch::Contains("small-gone") && Catch::Contains("trunc-refused") && Catch::Contains("rm-refused"));
    CHECK(*sandboxd::read_file(h.ws / "big.txt") == big);
    bool journaled = false;
    for (const auto& j : journal_lines(h, only_session(h)))
        if (j["decision"] == "deny" && j["rule"] == "snapshots.budget" && j["errno"] == ENOSPC) journaled = true;
    CHECK(journaled);
}

TEST_CASE("gate: the agent cannot reach or tamper with its own snapshots") {
    Host h;
    plant_file(h.ws / "kept.txt", "original");
    std::string store_glob = h.state / "sessions/*/snapshots";
    auto r = agent_sh(h, "rm kept.txt; ls " + store_glob + " 2>/dev/null && echo listed; cat " + store_glob +
                             "/*/* 2>/dev/null && echo read; rm -rf " + h.state.path() + " 2>/dev/null; "
                             "ls /proc/self/root" + h.state.path() + "/sessions 2>/dev/null | grep . && echo via-proc; "
                             "echo pwned > " + store_glob + "/00000/000001 2>/dev/null && echo wrote; exit 0");
    INFO(r.err);
    CHECK_THAT(r.out, !Catch::Contains("listed") && !Catch::Contains("read") && !Catch::Contains("via-proc") &&
                          !Catch::Contains("wrote"));
    std::string id = only_session(h);
    std::string stored = h.state / ("sessions/" + id + "/snapshots/00000/000001");
    REQUIRE(path_exists(stored));
    CHECK(*sandboxd::read_file(stored) == "original");
}

TEST_CASE("gate: a racing agent swapping names for symlinks outside lands nothing outside and nothing unsnapshotted") {
    Host h;
    TempDir outside("sandboxd-race-out", "/var/tmp");
    REQUIRE(chown(outside.path().c_str(), kAgentUid, kAgentGid) == 0);
    plant_file(outside / "secret.txt", "secret");
    plant_file(outside / "victim", "OUTSIDE");
    std::string race = h.ws / "race";
    plant_file(race + "/file_a", std::string(100, 'A'));
    plant_file(race + "/d/victim", "V");
    REQUIRE(symlink((outside / "secret.txt").c_str(), (race + "/evil").c_str()) == 0);
    REQUIRE(symlink(outside.path().c_str(), (race + "/dlink").c_str()) == 0);
    REQUIRE(lchown((race + "/evil").c_str(), kAgentUid, kAgentGid) == 0);
    REQUIRE(lchown((race + "/dlink").c_str(), kAgentUid, kAgentGid) == 0);
    std::string before = tree_state(h.ws.path());
    std::string outside_before = tree_state(outside.path());

    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                    testcase("race_agent"), race, "1500"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.out, Catch::Contains("race-done"));
    // The race really raced: every kind of operation landed.
    // The race really raced. del and mv contend for one name and the gate
    // serialises them, so one of the two may lose every round.
    auto count = [&](const std::string& what) { return counted(r.out, what); };
    CHECK(count("swap") > 0);
    CHECK(count("trunc") > 0);
    CHECK(count("create") > 0);
    CHECK(count("del") + count("mv") > 0);
    CHECK(tree_state(outside.path()) == outside_before);
    CHECK(*sandboxd::read_file(outside / "secret.txt") == "secret");
    std::string id = only_session(h);
    // Every destructive operation the gate let through names an inside
    // path, and every one that destroyed bytes has its snapshot.
    for (const auto& j : journal_lines(h, id)) {
        if (j["layer"] != "seccomp-notify" || j["decision"] != "allow") continue;
        INFO(j.dump());
        CHECK(j["target"].get<std::string>().find(outside.path()) == std::string::npos);
        std::string a = j["action"];
        // (A truncation that makes a file longer destroys nothing: its undo
        // record cuts it back.)
        bool grew = j["undo"].is_object() && j["undo"]["op"] == "resize";
        if (a == "file.unlink" || a == "file.truncate" || a == "file.open-truncate") CHECK((j["snapshot"].is_string() || grew));
    }
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

// The gate looks at a name, then opens it: a symbolic link put there in
// between (by the agent's other thread where symlink() does not go through
// the gate, or by another session) was followed by the open from the
// worker's view of the world - the host's root and sandbox-run's own
// descriptors through /proc/self - so an existing file was truncated and
// rewritten with no snapshot, and a snapshot in the store rewritten (which
// rollback then "restored"). A red-team finding.
TEST_CASE("gate: a symlink put at a name between the gate's look and its open is not followed - to the host or into the store") {
    Host h;
    std::string prof = h.profile("no-guards", "name='no-guards'\nextends='workspace-t'\n[filesystem]\nprotect = []\n");
    plant_file(h.ws / "A", "PRECIOUS\n");
    plant_file(h.ws / "P", "SNAPSHOTTED\n");
    TempDir outside("sandboxd-swap-out", "/var/tmp");
    REQUIRE(chown(outside.path().c_str(), kAgentUid, kAgentGid) == 0);
    plant_file(outside / "victim", "OUTSIDE\n");
    std::vector<std::string> args = {"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--",
                                     testcase("open_swap_race"), "open", "3000", "/proc/self/root" + h.ws / "A",
                                     "/proc/self/root" + outside / "victim"};
    for (int fd = 3; fd < 160; ++fd) args.push_back("/proc/self/fd/" + std::to_string(fd) + "/00000/000001");
    auto r = h.run(args);
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.out, Catch::Contains("race-done"));
    // It raced: opens made files and met links. Under ASan the gate is
    // slow enough that the linking thread mostly wins (78 to 191 files
    // made in 3 s here, against 2,400 to 3,000 without it).
    auto count = [&](const std::string& what) { return counted(r.out, what); };
    CHECK(count("opened") > 20);
    CHECK(count("met-link") > 100);
    CHECK(*sandboxd::read_file(h.ws / "A") == "PRECIOUS\n");
    CHECK(*sandboxd::read_file(outside / "victim") == "OUTSIDE\n");
    std::string id = only_session(h);
    std::string stored = h.state / ("sessions/" + id + "/snapshots/00000/000001");
    REQUIRE(path_exists(stored));
    CHECK(*sandboxd::read_file(stored) == "SNAPSHOTTED\n");
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(*sandboxd::read_file(h.ws / "P") == "SNAPSHOTTED\n");
}

// The same race against the gate's connect() to a pathname unix socket:
// connecting by name followed a link put there after the look, from the
// worker's view, to a socket outside the read scope (docker's, say).
TEST_CASE("gate: a symlink put at a socket's name between the gate's look and its connect is not followed") {
    Host h;
    std::string prof = h.profile("no-guards", "name='no-guards'\nextends='workspace-t'\n[filesystem]\nprotect = []\n");
    TempDir outside("sandboxd-swap-sock", "/var/tmp");
    REQUIRE(chmod(outside.path().c_str(), 0755) == 0);
    std::string path = outside / "s";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(listener >= 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::chmod(path.c_str(), 0777) == 0);
    REQUIRE(::listen(listener, 4096) == 0);
    auto r = h.run({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--",
                    testcase("open_swap_race"), "connect", "3000", "/proc/self/root" + path});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.out, Catch::Contains("race-done"));
    CHECK_THAT(r.out, Catch::Contains("opened 0\n"));
    CHECK_THAT(r.out, !Catch::Contains("met-link 0\n"));
    // Nothing ever reached the listener.
    CHECK(::accept(listener, nullptr, nullptr) < 0);
    CHECK(errno == EAGAIN);
    ::close(listener);
}

// A rename to a name that was free when the gate looked replaced whatever
// another session (or a host process) moved there before the rename: an
// existing file destroyed with no snapshot, past any rollback. A red-team
// finding: 15 of 300 victims lost before the change.
TEST_CASE("gate: a file moved onto a name after the gate found it free is not replaced unseen - two sessions racing") {
    Host h;
    std::string prof = h.profile("no-guards", "name='no-guards'\nextends='workspace-t'\n[filesystem]\nprotect = []\n");
    const int victims = 300;
    for (int i = 0; i < victims; ++i) plant_file(h.ws / ("v_" + std::to_string(i)), "VICTIM " + std::to_string(i) + "\n");
    auto session = [&](const char* mode, const char* n) {
        return h.run_argv({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--",
                           testcase("rename_race"), mode, n, "15"});
    };
    Background feeder(session("feeder", "300"), h.env());
    auto mover = run(session("mover", "3000"), h.env(), 60000);
    auto fed = feeder.wait(60000);
    INFO(mover.out << mover.err << fed.out << fed.err);
    REQUIRE(mover.status == 0);
    REQUIRE(fed.status == 0);
    REQUIRE_THAT(fed.out, Catch::Contains("race-done"));
    // Every victim is somewhere: in the workspace, or kept in a store.
    std::multiset<std::string> found = contents_below(h.ws.path());
    for (const auto& c : contents_below(h.state / "sessions")) found.insert(c);
    std::vector<int> lost;
    for (int i = 0; i < victims; ++i)
        if (!found.count("VICTIM " + std::to_string(i) + "\n")) lost.push_back(i);
    CHECK(lost.empty());
}

// The gate marks each call it journals so that the call's exit program
// leaves it out. A thread killed by another thread's exec while the gate
// worked for it (a slow snapshot) gives its id to the exec'ing thread: the
// mark made then matched the new program's first ungated create, and that
// create had no line at all. A red-team finding.
TEST_CASE("gate: a mark for a thread an exec killed swallows no line of the program the exec started") {
    Host h;
    std::string prof = h.profile("no-guards", "name='no-guards'\nextends='workspace-t'\n[filesystem]\nprotect = []\n");
    // Big enough that copying one for its snapshot outlasts the exec's
    // delay (0.5-3 ms).
    const int trials = 12;
    for (int t = 0; t < trials; ++t) plant_file(h.ws / ("big_" + std::to_string(t)), std::string(16 << 20, 'x'));
    auto r = h.run({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--",
                    testcase("exec_mark_race"), testcase("exec_mark_race"), std::to_string(trials), "20"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.out, Catch::Contains("race-done"));
    std::set<std::string> journaled;
    for (const auto& j : journal_lines(h, only_session(h)))
        if (j["action"] == "file.write") journaled.insert(j["target"].get<std::string>());
    size_t made = 0;
    std::vector<std::string> missing;
    for (const auto& name : list_dir(h.ws.path())) {
        if (!name.starts_with("c_")) continue;
        ++made;
        if (!journaled.count(name)) missing.push_back(name);
    }
    INFO("made " << made);
    CHECK(made > trials * 10);
    CHECK(missing == std::vector<std::string>{});
}

// A hard link's undo record names it by its host path. In a directory past
// PATH_MAX there is none: the link was made with no journal line at all
// (the exit tracepoint left all links to the gate), and rollback kept it.
// A red-team finding.
TEST_CASE("gate: a hard link where rollback could not find it is refused and journaled") {
    Host h;
    plant_file(h.ws / "old", "old\n");
    std::string script =
        "import os\n"
        "ws = os.open('.', os.O_RDONLY)\n"
        "fd = os.open('.', os.O_RDONLY)\n"
        "for i in range(20):\n"
        "    os.mkdir('d' * 249, dir_fd=fd)\n"
        "    fd = os.open('d' * 249, os.O_RDONLY, dir_fd=fd)\n"
        "try:\n"
        "    os.link('old', 'deep', src_dir_fd=ws, dst_dir_fd=fd)\n"
        "    print('linked')\n"
        "except OSError as e:\n"
        "    print('refused', e.errno)\n";
    auto r = agent_sh(h, "python3 -c " + shell_word(script));
    INFO(r.out << r.err);
    CHECK(r.out == "refused " + std::to_string(EACCES) + "\n");
    struct stat st{};
    REQUIRE(stat((h.ws / "old").c_str(), &st) == 0);
    CHECK(st.st_nlink == 1);
    bool journaled = false;
    for (const auto& j : journal_lines(h, only_session(h)))
        if (j["action"] == "file.link" && j["decision"] == "deny" && j["errno"] == EACCES) journaled = true;
    CHECK(journaled);
}

// The gate truncates only after the snapshot, through the descriptor, so
// it opens without O_TRUNC; an empty file loses nothing to O_TRUNC, but
// the kernel still stamps it, and make's stamp files rely on that. Two
// names of one file renamed onto each other stay two names of it.
TEST_CASE("gate: O_TRUNC of an empty file stamps it - a rename between two names of one file changes nothing") {
    Host h;
    plant_file(h.ws / "stamp", "");
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    REQUIRE(utimensat(AT_FDCWD, (h.ws / "stamp").c_str(), old, 0) == 0);
    plant_file(h.ws / "a", "one file\n");
    REQUIRE(link((h.ws / "a").c_str(), (h.ws / "b").c_str()) == 0);
    auto r = agent_sh(h, ": > stamp && python3 -c 'import os; os.rename(\"a\", \"b\")' && echo done");
    INFO(r.out << r.err);
    CHECK(r.out == "done\n");
    struct stat st{}, sa{}, sb{};
    REQUIRE(stat((h.ws / "stamp").c_str(), &st) == 0);
    CHECK(st.st_mtime > 1000000000 + 3600);
    REQUIRE(stat((h.ws / "a").c_str(), &sa) == 0);
    REQUIRE(stat((h.ws / "b").c_str(), &sb) == 0);
    CHECK(sa.st_ino == sb.st_ino);
    CHECK(sa.st_nlink == 2);
}

TEST_CASE("gate: opening a FIFO for writing waits for its reader a bounded time - the session still ends") {
    Host h;
    REQUIRE(mkfifo((h.ws / "pipe").c_str(), 0644) == 0);
    REQUIRE(chown((h.ws / "pipe").c_str(), kAgentUid, kAgentGid) == 0);
    plant_file(h.ws / "other", "o");
    // A reader that comes late, and a writer nobody reads, with destructive
    // calls in between that must not wait for either.
    auto t0 = std::chrono::steady_clock::now();
    auto r = agent_sh(h, "(sleep 0.3; cat pipe) & echo hello > pipe; wait; echo wrote; "
                         "(echo lost > pipe &) ; sleep 0.1; rm other && echo removed; exit 0");
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("hello") && Catch::Contains("wrote") && Catch::Contains("removed"));
    CHECK(secs < 15);  // the unread writer does not hold the session's end hostage
}

TEST_CASE("gate: a unix connect to a full backlog waits a bounded time whatever SO_SNDTIMEO says - the gate goes on") {
    Host h;
    plant_file(h.ws / "victim", "v");
    // The agent's own listener, its backlog filled, and a send timeout of
    // a day on the socket that connects: without a deadline of the gate's
    // own, every later gated call of the session waited behind it.
    const char* script =
        "import socket, os, struct\n"
        "l = socket.socket(socket.AF_UNIX); l.bind('/tmp/s'); l.listen(0)\n"
        "fill = []\n"
        "for i in range(4):\n"
        "    c = socket.socket(socket.AF_UNIX); c.setblocking(False)\n"
        "    try: c.connect('/tmp/s')\n"
        "    except BlockingIOError: pass\n"
        "    fill.append(c)\n"
        "c = socket.socket(socket.AF_UNIX)\n"
        "c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack('ll', 86400, 0))\n"
        "try: c.connect('/tmp/s'); print('connected')\n"
        "except OSError as e: print('refused', e.errno)\n"
        "os.unlink('victim'); print('went on')\n";
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--", "python3",
                    "-c", script},
                   30000);
    INFO(r.err);
    CHECK(r.out == "refused " + std::to_string(ETIMEDOUT) + "\nwent on\n");
    CHECK_FALSE(path_exists(h.ws / "victim"));
}

TEST_CASE("gate: opening a FIFO for reading with O_TRUNC does not wait for a writer - nor a socket through /proc for anything") {
    Host h;
    REQUIRE(mkfifo((h.ws / "pipe").c_str(), 0644) == 0);
    REQUIRE(chown((h.ws / "pipe").c_str(), kAgentUid, kAgentGid) == 0);
    plant_file(h.ws / "other", "o");
    // Without a bound the gate waited for a writer that never came, and
    // every later gated call of the session waited behind it.
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--", "python3",
                    "-c", "import os, socket, time; os.close(os.open('pipe', os.O_RDONLY | os.O_TRUNC)); "
                          "os.close(os.open('pipe', os.O_RDONLY | os.O_CREAT))\n"
                          "s = socket.socket(socket.AF_UNIX); t = time.time()\n"
                          "try: os.open('/proc/self/fd/%d' % s.fileno(), os.O_WRONLY)\n"
                          "except OSError as e: print('socket', e.errno, 'at once' if time.time() - t < 2 else 'late')\n"
                          "os.unlink('other'); print('went on')"},
                   20000);
    INFO(r.err);
    // A socket through /proc is ENXIO at once: no FIFO to wait for.
    CHECK(r.out == "socket " + std::to_string(ENXIO) + " at once\nwent on\n");
    CHECK_FALSE(path_exists(h.ws / "other"));
}

TEST_CASE("gate: an agent that may change its root (user namespaces allowed) is resolved from its new root") {
    Host h;
    plant_file(h.ws / "jail/victim", "inner");
    plant_file(h.ws / "victim", "outer");
    std::string prof = h.profile("chrooting", "name = 'chrooting'\nextends = '" + h.workspace_profile +
                                                   "'\n[syscalls]\nallow = ['@namespaces', '@mount']\n");
    h.ws.write("agent.py",
               "import ctypes, os\n"
               "libc = ctypes.CDLL(None, use_errno=True)\n"
               "os.unlink('victim.tmp') if os.path.exists('victim.tmp') else None\n"
               "open('warmup', 'w').close(); os.unlink('warmup')\n"  // the gate knows this thread now
               "if libc.unshare(0x10000000) != 0: raise SystemExit('unshare: %d' % ctypes.get_errno())\n"
               "os.chroot('jail'); os.chdir('/')\n"
               "os.unlink('/victim')\n"
               "print('unlinked')\n");
    auto r = h.run({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--", "python3", "agent.py"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("unlinked"));
    CHECK_FALSE(path_exists(h.ws / "jail/victim"));
    CHECK(*sandboxd::read_file(h.ws / "victim") == "outer");
}

TEST_CASE("gate: when the journal's disk fills up destructive calls are refused while there is still room for the "
          "lines of those already done - nothing is lost, and rollback brings back every file") {
    Host h;
    // The state directory (journal) on a small filesystem: 5 MiB, of which
    // the journal keeps 4 MiB ahead of its end, asking for more once half
    // is used. The workspace on one of its own, where its snapshot store
    // goes, with room to spare.
    REQUIRE(::mount("tmpfs", h.state.path().c_str(), "tmpfs", 0, "size=5m,mode=0700") == 0);
    Unmount state_fs{h.state.path()};
    TempDir wsd("sandboxd-wsfs", "/var/tmp");
    REQUIRE(::mount("tmpfs", wsd.path().c_str(), "tmpfs", 0, "size=64m,mode=0755") == 0);
    Unmount ws_fs{wsd.path()};
    std::string ws = wsd / "ws";
    REQUIRE(::mkdir(ws.c_str(), 0755) == 0);
    REQUIRE(::chown(ws.c_str(), kAgentUid, kAgentGid) == 0);
    std::multiset<std::string> all;
    for (int i = 0; i < 5000; ++i) {
        std::string name = "f" + std::to_string(i);
        plant_file(ws + "/t/d" + std::to_string(i / 100) + "/" + name, name);
        all.insert(name);
    }
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", ws, "--", "rm", "-rf",
                    ws + "/t"});
    INFO(r.err.substr(0, 2000));
    CHECK(r.status != 0);
    CHECK_THAT(r.err, Catch::Contains("journal cannot be written") && Catch::Contains("No space left on device"));
    auto left = contents_below(ws + "/t");
    CHECK(left.size() > 100);  // refused, still there
    std::string id = only_session(h);
    auto kept = contents_below(wsd / (".sandboxd-snapshots/" + id));
    auto everything = left;
    everything.insert(kept.begin(), kept.end());
    CHECK(everything == all);  // nothing lost

    // Room again (the admin freed some): rollback.
    REQUIRE(::mount("tmpfs", h.state.path().c_str(), nullptr, MS_REMOUNT, "size=16m,mode=0700") == 0);
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out.substr(0, 3000) << rb.err);
    auto back = contents_below(ws + "/t");
    auto orphans = orphans_in(rb.out);
    auto kept_aside = orphan_contents(rb.out);
    back.insert(kept_aside.begin(), kept_aside.end());
    CHECK(back == all);
    CHECK(orphans.empty());  // every operation let through has its line
    CHECK(rb.status == 0);
}

TEST_CASE("gate: what it makes for the agent has the agent's umask - and its own store is unaffected") {
    Host h;  // a workspace without .git: every call that makes a name goes to the gate
    // k's truncation under umask 0 has the worker copy it into the store
    // right after it made b and e with that umask.
    auto r = agent_sh(h, "umask 077; : > a; mkdir d; mkfifo p; echo old > k; umask 0; : > b; mkdir e; echo new > k; umask 022; "
                         "echo x > c; rm c; echo x > c; python3 -c \"import os; os.umask(0o077); "
                         "fd = os.open('.', os.O_TMPFILE | os.O_WRONLY, 0o666); "
                         "os.link('/proc/self/fd/%d' % fd, 't', dst_dir_fd=os.open('.', os.O_RDONLY), follow_symlinks=True)\"; "
                         "ln -s nowhere lnk; python3 -c \"import os\ntry: os.open('lnk', os.O_CREAT | os.O_EXCL | os.O_WRONLY)\n"
                         "except FileExistsError: print('exists')\"; echo done");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "exists\ndone\n");  // O_CREAT|O_EXCL follows no symlink
    CHECK_FALSE(path_exists(h.ws / "nowhere"));
    auto mode = [&](const char* name) {
        struct stat st{};
        REQUIRE(::lstat((h.ws / name).c_str(), &st) == 0);
        return st.st_mode & 07777;
    };
    CHECK(mode("a") == 0600);
    CHECK(mode("d") == 0700);
    CHECK(mode("p") == 0600);
    CHECK(mode("b") == 0666);
    CHECK(mode("e") == 0777);
    CHECK(mode("c") == 0644);
    CHECK(mode("t") == 0600);  // O_TMPFILE, linked
    CHECK(mode("k") == 0600);
    // The store's own copy of k's old bytes and the directories above it:
    // no rights for group or others, whatever umask the agent's creates
    // left the worker with.
    int copies = 0;
    for (const auto& j : journal_lines(h, only_session(h))) {
        if (!j.contains("undo") || !j["undo"].contains("snapshot")) continue;
        std::filesystem::path stored = std::string(j["undo"]["snapshot"]);
        auto bytes = sandboxd::read_file(stored);
        if (!bytes || *bytes != "old\n") continue;
        ++copies;
        struct stat st{};
        REQUIRE(::lstat(stored.c_str(), &st) == 0);
        CHECK((st.st_mode & 077) == 0);
        for (auto dir = stored.parent_path(); dir.filename() != "snapshots" && dir != dir.root_path(); dir = dir.parent_path()) {
            INFO(dir);
            REQUIRE(::lstat(dir.c_str(), &st) == 0);
            CHECK((st.st_mode & 0777) == 0700);
        }
    }
    CHECK(copies == 1);
}

// The gate keeps each thread's working directory and umask between calls
// (a BPF program counts the session's chdir, fchdir and umask calls): a
// change by the thread itself, by another thread sharing its directory, or
// through fchdir must reach the very next call.
TEST_CASE("gate: relative paths follow chdir and fchdir at once - also from another thread - and so does umask") {
    Host h;  // without .git: every call that makes a name goes to the gate
    plant_file(h.ws / "f0", "old");
    h.ws.write("agent.py",
               "import os, threading\n"
               "def other(f): t = threading.Thread(target=f); t.start(); t.join()\n"
               "os.mkdir('d1'); os.mkdir('d2')\n"
               "open('a', 'w').close()\n"                        // from the workspace: known to the gate now
               "os.chdir('d1'); open('b', 'w').close(); os.mkdir('sub')\n"
               "os.chdir('../d2'); open('c', 'w').close(); os.unlink('../f0')\n"
               "fd = os.open('../d1/sub', os.O_RDONLY); os.fchdir(fd); open('d', 'w').close()\n"
               "os.rename('d', 'e'); os.symlink('x', 'lnk')\n"
               "other(lambda: os.chdir('../../d2')); open('f', 'w').close(); os.unlink('c')\n"
               "os.umask(0o022); open('g', 'w').close()\n"
               "other(lambda: os.umask(0o077)); open('h', 'w').close(); os.mkdir('i')\n"
               "other(lambda: os.umask(0)); open('j', 'w').close()\n"
               "print('done')\n");
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                    "python3", "agent.py"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "done\n");
    auto below = [&](const std::string& dir) {
        std::set<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(h.ws / dir)) names.insert(e.path().filename());
        return names;
    };
    CHECK(below(".") == std::set<std::string>{"a", "agent.py", "d1", "d2"});
    CHECK(below("d1") == std::set<std::string>{"b", "sub"});
    CHECK(below("d1/sub") == std::set<std::string>{"e", "lnk"});
    CHECK(below("d2") == std::set<std::string>{"f", "g", "h", "i", "j"});
    auto mode = [&](const char* name) {
        struct stat st{};
        REQUIRE(::lstat((h.ws / ("d2/" + std::string(name))).c_str(), &st) == 0);
        return st.st_mode & 07777;
    };
    CHECK(mode("g") == 0644);
    CHECK(mode("h") == 0600);
    CHECK(mode("i") == 0700);
    CHECK(mode("j") == 0666);
    CHECK(gate_kept_caches(h));
}

TEST_CASE("gate: an exec from a thread that is not the leader takes the leader's id - not what the gate kept for it") {
    Host h;
    // The leader's working directory and umask are a/ and 000 when the gate
    // last saw them; the thread that execs (and becomes the leader, with
    // its id) has b/ and 077 of its own.
    h.ws.write("agent.py", R"PY(import ctypes, os, sys, threading, time
if sys.argv[1:] == ['after']:
    os.close(os.open('landed', os.O_CREAT | os.O_WRONLY, 0o666))
    print('done', flush=True)
    sys.exit(0)
me = os.path.abspath(__file__)
libc = ctypes.CDLL(None, use_errno=True)
os.mkdir('a'); os.mkdir('b'); os.chdir('a'); os.umask(0)
ready, go = threading.Event(), threading.Event()
def other():
    if libc.unshare(0x200) != 0: raise SystemExit('unshare(CLONE_FS)')
    os.chdir('../b'); os.umask(0o077)
    ready.set(); go.wait()
    os.execv(sys.executable, [sys.executable, me, 'after'])
threading.Thread(target=other).start()
ready.wait()
os.close(os.open('seen', os.O_CREAT | os.O_WRONLY, 0o666))
go.set()
time.sleep(30)
)PY");
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                    "python3", "agent.py"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "done\n");
    CHECK(path_exists(h.ws / "a/seen"));
    CHECK_FALSE(path_exists(h.ws / "a/landed"));
    REQUIRE(path_exists(h.ws / "b/landed"));
    struct stat st{};
    REQUIRE(::stat((h.ws / "b/landed").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(gate_kept_caches(h));
}

// A chdir or umask shows to a thread sharing the working directory a little
// before the call returns. A storm of timers firing during the call (a
// helper's red-team finding) stretches that moment: the process that
// shares the directory sees the change, makes a file at once, and the gate
// must not use what it kept from before.
TEST_CASE("gate: a change of working directory or umask seen by another process sharing them before the call returns "
          "reaches the gate") {
    Host h;
    h.ws.write("race.py", R"PY(import ctypes, mmap, os, random, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
what, rounds = sys.argv[1], int(sys.argv[2])
top = os.path.abspath(what)
os.mkdir(top); os.mkdir(top + '/a'); os.mkdir(top + '/b')
A, B = top + '/a', top + '/b'
shared = mmap.mmap(-1, 4096)
def get(i): return struct.unpack_from('q', shared, i * 8)[0]
def put(i, v): struct.pack_into('q', shared, i * 8, v)
PHASE, ROUND, ACK, SEEN = 0, 1, 2, 3
def changed():
    if what == 'cwd': return os.getcwd() == B
    return 'Umask:\t0077' in open('/proc/self/status').read()
def wrong(name):
    if what == 'cwd': return os.path.exists(A + '/' + name)
    return os.stat(name).st_mode & 0o777 != 0o600
if len(os.sched_getaffinity(0)) < 2: print('one CPU'); sys.exit(0)
os.chdir(A)
# Not 0: round 0 waits for ACK 0, and a child slow to start (a busy CI
# machine) then missed PHASE 1 for good - both sides waited on the other.
put(ACK, -10**9)
pid = libc.syscall(56, 0x200 | 17, 0, 0, 0, 0)  # clone(CLONE_FS | SIGCHLD)
if pid == 0:
    os.sched_setaffinity(0, {0})
    seen = bad = 0
    for i in range(rounds):
        while not (get(PHASE) == 1 and get(ROUND) == i): pass
        os.close(os.open('k%d' % i, os.O_CREAT | os.O_WRONLY, 0o644))  # the gate keeps a/ and 022
        put(ACK, i)
        while get(PHASE) < 3:
            if changed():
                seen += 1
                put(SEEN, seen)
                os.close(os.open('m%d' % i, os.O_CREAT | os.O_WRONLY, 0o666))
                if wrong('m%d' % i): bad += 1
                break
        while get(PHASE) < 3: pass
        put(ACK, -1 - i)
        if get(PHASE) == 4: break
    print('seen %d wrong %d' % (seen, bad), flush=True)
    os._exit(0)
os.sched_setaffinity(0, {1})
libc.prctl(29, 1, 0, 0, 0)  # PR_SET_TIMERSLACK: 1 ns
timers = [t for t in (libc.timerfd_create(1, 0) for _ in range(900)) if t >= 0]
class Spec(ctypes.Structure):
    _fields_ = [('i1', ctypes.c_long), ('i2', ctypes.c_long), ('v1', ctypes.c_long), ('v2', ctypes.c_long)]
# Enough: 150 changes seen before their call returned, or 25 s (a slow
# machine runs fewer rounds; the test asks for fewer sightings then).
until = time.monotonic() + 25
for i in range(rounds):
    os.chdir(A); os.umask(0o022); put(ROUND, i); put(PHASE, 1)
    while get(ACK) != i: pass
    at = time.clock_gettime_ns(time.CLOCK_MONOTONIC) + 3_000_000
    spec = Spec(0, 0, at // 10**9, at % 10**9)
    for t in timers: libc.timerfd_settime(t, 1, ctypes.byref(spec), None)
    put(PHASE, 2)
    lead = random.randint(0, 12000)
    while time.clock_gettime_ns(time.CLOCK_MONOTONIC) < at - lead: pass
    if what == 'cwd': libc.chdir(B.encode())
    else: libc.umask(0o077)
    last = i == rounds - 1 or get(SEEN) >= 150 or time.monotonic() > until
    put(PHASE, 4 if last else 3)
    while get(ACK) != -1 - i: pass
    if last: break
os.waitpid(pid, 0)
)PY");
    for (const char* what : {"cwd", "umask"}) {
        auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                        "python3", "race.py", what, "300"},
                       120000);
        INFO(what << ": " << r.out << r.err);
        REQUIRE(r.status == 0);
        if (r.out == "one CPU\n") {
            WARN("one CPU: the race needs two");
            return;
        }
        int seen = -1, wrong = -1;
        REQUIRE(std::sscanf(r.out.c_str(), "seen %d wrong %d", &seen, &wrong) == 2);
        CHECK(wrong == 0);
        // The race was run: the change showed before the call returned (150
        // times here in a few seconds; a CI machine under ASan took over a
        // minute for 300 rounds, so the run stops at 150 or after 25 s).
        CHECK(seen >= 10);
    }
    CHECK(gate_kept_caches(h));
}

// A call that seccomp refuses has an exit tracepoint and no entry one. The
// agent may install a filter of its own that refuses umask; counted at
// exit, such calls put "ended" ahead of "begun", and a chdir under way then
// looked like none: a thread creating files all along had the old directory
// kept for it after the chdir returned (a helper's red-team finding, 5 of
// 10 rounds). A slow chdir (through nested symlinks of long "./" runs)
// leaves time for creates during it.
TEST_CASE("gate: calls the agent's own seccomp filter refuses do not unbalance what the gate counts") {
    Host h;
    h.ws.write("stale.py", R"PY(import ctypes, os, struct, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
W = os.path.abspath('stale')
os.makedirs(W + '/t'); os.chdir(W)
slow = 't'
for k in range(38):
    os.symlink('./' * 2000 + slow, 'l%d' % k); slow = 'l%d' % k
class Fprog(ctypes.Structure): _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
def refuse_umask():  # this thread only: umask (95) gets EPERM from its own filter
    code = [(0x20, 0, 0, 0), (0x15, 0, 1, 95), (0x06, 0, 0, 0x00050001), (0x06, 0, 0, 0x7fff0000)]
    buf = ctypes.create_string_buffer(b''.join(struct.pack('HBBI', *c) for c in code))
    prog = Fprog(len(code), ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0: raise SystemExit('filter')
    libc.syscall(95, 0o22)  # one: a chdir under way then evens the counts
if len(os.sched_getaffinity(0)) < 2: print('one CPU'); sys.exit(0)
t = threading.Thread(target=refuse_umask); t.start(); t.join()
state = {'run': False, 'stop': False, 'parked': True}
def hammer():
    os.sched_setaffinity(0, {0})
    while not state['stop']:
        if state['run']: os.close(os.open('hb', os.O_CREAT | os.O_WRONLY, 0o644))
        else: state['parked'] = True; time.sleep(0.0005)
def park():  # stop the hammer and wait until its last open has returned, however slow the gate
    state['run'] = False; state['parked'] = False
    while not state['parked']: time.sleep(0.0002)
b = threading.Thread(target=hammer); b.start()
os.sched_setaffinity(0, {1})
wrong = 0
for i in range(12):
    libc.chdir(W.encode())
    state['run'] = True; time.sleep(0.005)
    libc.chdir(slow.encode())
    park()
    if os.getcwd() != W + '/t': raise SystemExit('chdir')
    if os.path.exists(W + '/hb'): os.unlink(W + '/hb')  # made while the chdir was under way: either is right
    state['run'] = True; time.sleep(0.002); park()
    if os.path.exists(W + '/hb'): wrong += 1; os.unlink(W + '/hb')
state['stop'] = True; b.join()
print('wrong %d' % wrong)
)PY");
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                    "python3", "stale.py"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    if (r.out == "one CPU\n") {
        WARN("one CPU: the race needs two");
        return;
    }
    CHECK(r.out == "wrong 0\n");
    CHECK(gate_kept_caches(h));
}

// /proc/self is the caller's thread group: its working directory is the
// leader's, also for a thread that has one of its own; /proc/thread-self is
// the caller. The gate resolves them as the kernel does (a helper compared
// the two; before, the gate took the thread's for /proc/self and refused
// /proc/thread-self/cwd/X with ENOENT).
TEST_CASE("gate: /proc/self/cwd is the thread group's and /proc/thread-self/cwd the thread's own - as the kernel has them") {
    Host h;  // without .git: every create goes to the gate
    h.ws.write("agent.py", R"PY(import ctypes, os, threading
libc = ctypes.CDLL(None, use_errno=True)
os.mkdir('lead'); os.mkdir('own'); os.chdir('lead')
def other():
    if libc.unshare(0x200) != 0: raise SystemExit('unshare(CLONE_FS)')
    os.chdir('../own')
    for name in ('/proc/self/cwd/g', '/proc/%d/cwd/p' % os.getpid(), '/proc/thread-self/cwd/t', 'r'):
        os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o644))
    os.mkdir('/proc/self/cwd/gd'); os.mkdir('/proc/thread-self/cwd/td')
t = threading.Thread(target=other); t.start(); t.join()
os.close(os.open('/proc/thread-self/cwd/l', os.O_CREAT | os.O_WRONLY, 0o644))
print('done')
)PY");
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                    "python3", "agent.py"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "done\n");
    auto names = [&](const char* dir) {
        auto v = list_dir(h.ws / dir);
        return std::set<std::string>(v.begin(), v.end());
    };
    CHECK(names("lead") == std::set<std::string>{"g", "gd", "l", "p"});
    CHECK(names("own") == std::set<std::string>{"r", "t", "td"});
}

TEST_CASE("gate: a snapshot directory at a mount root that is not sandboxd's own (planted by an earlier agent) "
          "refuses the session - no snapshot goes there") {
    Host h;
    // The workspace is a mount root: its sessions keep their snapshots in
    // .sandboxd-snapshots there. An agent that could write it (a session
    // without destroy rights, which has no gate to hide it) left one: a
    // symlink to a directory of its choice, or a directory of its own.
    TempDir wsd("sandboxd-wsfs", "/var/tmp");
    REQUIRE(::mount("tmpfs", wsd.path().c_str(), "tmpfs", 0, "size=16m,mode=0755") == 0);
    Unmount ws_fs{wsd.path()};
    REQUIRE(::chown(wsd.path().c_str(), kAgentUid, kAgentGid) == 0);
    TempDir elsewhere("sandboxd-planted", "/var/tmp");
    REQUIRE(::chown(elsewhere.path().c_str(), kAgentUid, kAgentGid) == 0);
    std::string planted = wsd / ".sandboxd-snapshots";
    for (const char* how : {"symlink", "directory"}) {
        INFO(how);
        if (std::string(how) == "symlink") REQUIRE(::symlink(elsewhere.path().c_str(), planted.c_str()) == 0);
        else REQUIRE((::mkdir(planted.c_str(), 0777) == 0 && ::chown(planted.c_str(), kAgentUid, kAgentGid) == 0));
        plant_file(wsd / "data", "original");
        auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", wsd.path(), "--", "rm",
                        "data"});
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains("not sandboxd's own snapshot directory"));
        CHECK(*sandboxd::read_file(wsd / "data") == "original");
        CHECK(list_dir(elsewhere.path()).empty());
        if (std::string(how) == "symlink") REQUIRE(::unlink(planted.c_str()) == 0);
        else REQUIRE(::rmdir(planted.c_str()) == 0);
    }
    // sandboxd's own is used as it is.
    plant_file(wsd / "data", "original");
    REQUIRE(h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", wsd.path(), "--", "rm", "data"})
                .status == 0);
    struct stat st{};
    REQUIRE(::lstat(planted.c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 0777) == 0700);
}

// Overwriting is destructive: a write tree alone lets the agent make files
// and add to existing ones, not write over them (nor cut them short); its
// own files are its to rewrite. Such a profile had no
// snapshot gate, and `dd conv=notrunc` wrote over a file of the user's
// with nothing kept. Now the gate refuses opening another's file for
// writing in place (EACCES, rule filesystem.destroy), keeps the old bytes
// at an open for appending (which the kernel lets the agent turn into one
// that writes in place, or map), and records chmod; rollback undoes all.
TEST_CASE("gate: in a write tree that is no destroy tree, files are added to, never overwritten - rollback undoes the rest") {
    Host h;
    plant_file(h.ws / "f", "original\n");
    plant_file(h.ws / "log", "log\n");
    std::string before = tree_state(h.ws.path());
    std::string p = h.profile("write-only", "name = 'write-only'\nextends = 'readonly-t'\n[filesystem]\n"
                                            "read = ['/usr', '/etc', '-/bin', '-/sbin', '-/lib', '-/lib64', '/dev', "
                                            "'/proc', '${WORKSPACE}']\nwrite = ['${WORKSPACE}']\n");
    const std::string script =
        "printf XX | dd of=f conv=notrunc 2>/dev/null; echo dd=$?; "
        "python3 -c \"import os; os.close(os.open('f', os.O_WRONLY))\" 2>/dev/null; echo wronly=$?; "
        "echo more >> log; echo append=$?; chmod 600 f; echo chmod=$?; "
        "echo mine > n && python3 -c \"f = open('n', 'r+'); f.write('M'); f.close()\"; echo own=$?; "
        "cp n n2 && echo again > n2; echo retrunc=$?; truncate -s 2 f 2>/dev/null; echo truncate=$?; "
        // The kernel's way around O_APPEND: cleared, then written in place.
        "python3 -c \"import os, fcntl; fd = os.open('log', os.O_WRONLY | os.O_APPEND); "
        "fcntl.fcntl(fd, fcntl.F_SETFL, 0); os.pwrite(fd, b'ZZ', 0)\"; echo cleared=$?";
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c", script});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "dd=1\nwronly=1\nappend=0\nchmod=0\nown=0\nretrunc=0\ntruncate=1\ncleared=0\n");
    CHECK(*sandboxd::read_file(h.ws / "f") == "original\n");
    CHECK(*sandboxd::read_file(h.ws / "log") == "ZZg\nmore\n");
    CHECK(*sandboxd::read_file(h.ws / "n") == "Mine\n");
    CHECK(*sandboxd::read_file(h.ws / "n2") == "again\n");  // its own, written a second time
    std::string id = only_session(h);
    auto lines = sandboxd::read_journal(h.dirs().journal_path(id));
    REQUIRE(lines.ok());
    int refused = 0;
    for (const auto& l : *lines)
        if (l.value.value("decision", "") == "deny" && l.value.value("rule", "") == "filesystem.destroy" &&
            l.value.value("target", "") == h.ws / "f" && l.value.value("errno", 0) == EACCES)
            ++refused;
    CHECK(refused == 3);  // dd, the open for writing, truncate
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}
