// sandbox-run's exit status is the agent's, as DESIGN.md's contract says.
#include <sys/mount.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "base/file_io.h"
#include "session_helpers.h"

using namespace sandboxd::test;

TEST_CASE("exit status: the command's own code") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--", "sh", "-c", "echo out; echo err >&2; exit 7"});
    CHECK(r.status == 7);
    CHECK(r.out == "out\n");
    CHECK(r.err == "err\n");
    CHECK(h.run({"--user", kAgentUser, "--", "true"}).status == 0);
}

TEST_CASE("exit status: 128+N when the command dies of signal N") {
    Host h;
    CHECK(h.run({"--user", kAgentUser, "--", "sh", "-c", "kill -TERM $$"}).status == 128 + 15);
    CHECK(h.run({"--user", kAgentUser, "--", "sh", "-c", "kill -KILL $$"}).status == 128 + 9);
    CHECK(h.run({"--user", kAgentUser, "--", "sh", "-c", "kill -SEGV $$"}).status == 128 + 11);
}

TEST_CASE("exit status: 127 for a command that is not found / 126 for one that cannot run") {
    Host h;
    auto nf = h.run({"--user", kAgentUser, "--", "no-such-command-sandboxd"});
    CHECK(nf.status == 127);
    CHECK(nf.err == "sandbox-run: no-such-command-sandboxd: command not found\n");
    // Nothing was created for a command that does not exist.
    CHECK(list_dir(h.state / "sessions").empty());
    auto nf_path = h.run({"--user", kAgentUser, "--", "/no/such/path"});
    CHECK(nf_path.status == 127);

    h.ws.write("script.sh", "#!/bin/sh\necho hi\n");
    REQUIRE(chmod((h.ws / "script.sh").c_str(), 0644) == 0);
    auto noexec = h.run({"--user", kAgentUser, "--workspace", h.ws.path(), "--", "./script.sh"});
    CHECK(noexec.status == 126);
    CHECK(noexec.err == "sandbox-run: ./script.sh: Permission denied\n");
    CHECK(h.run({"--user", kAgentUser, "--", "/etc"}).status == 126);

    // The PATH searched is the agent's, not the supervisor's.
    auto viapath = h.run({"--user", kAgentUser, "--workspace", h.ws.path(), "--", "env", "PATH=/nowhere",
                          "sh", "-c", "exit 3"});
    CHECK(viapath.status == 127);
}

TEST_CASE("the command's arguments reach it untouched / also ones that look like options") {
    Host h;
    auto r = h.run({"--user", kAgentUser, "--", "printf", "%s|", "--profile", "x", "--", "-n"});
    CHECK(r.status == 0);
    CHECK(r.out == "--profile|x|--|-n|");
}

// sandbox-run copies an agent's stdout that is a file from a pipe (see
// stdio_relay.h): a full disk there fails sandbox-run's write, not the
// agent's. Before, only a line on stderr said so, and the session still
// exited 0 with its output cut short.
TEST_CASE("exit status: 125 when the agent's output could not all be written to the file it was sent to") {
    Host h;
    TempDir small("sandboxd-full", "/var/tmp");
    REQUIRE(::mount("tmpfs", small.path().c_str(), "tmpfs", 0, "size=16k") == 0);
    Unmount unmount{small.path()};
    auto r = h.run_redirected({"--user", kAgentUser, "--", "head", "-c", "200000", "/dev/zero"},
                              "> " + shell_word(small / "out"));
    CHECK(r.status == 125);
    CHECK_THAT(r.err, Catch::Contains("cannot write the agent's stdout to its file"));
    CHECK_THAT(r.err, Catch::Contains("the agent exited 0, but its stdout could not all be written"));
    // The journal says it too.
    auto journal = sandboxd::read_file(h.state / ("sessions/" + only_session(h) + "/journal.jsonl"));
    REQUIRE(journal);
    CHECK_THAT(*journal, Catch::Contains("\"output_lost\":[\"stdout\"]"));
    // An agent that failed keeps its own status.
    auto failed = h.run_redirected({"--user", kAgentUser, "--", "sh", "-c", "head -c 200000 /dev/zero; exit 3"},
                                   "> " + shell_word(small / "out2"));
    CHECK(failed.status == 3);
}
