// What rollback, run as root, must leave alone: what the user changed or
// made after the session, even where the agent made the name first, and
// anything a symlink the agent left leads to. Red-team findings: the final
// sweep took the user's edits into the trash (which prune empties), and
// `--path` through a directory the agent had replaced by a symlink swept
// what the host made elsewhere during the session.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "base/file_io.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

void append(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::app) << text;
}

}  // namespace

TEST_CASE("rollback: what the user changed or made after the session in what the agent made stays, as conflicts") {
    Host h;
    // A create with a journal line (O_TRUNC), one without (O_EXCL), a directory.
    auto r = agent_sh(h, "echo agent > plain.md && python3 -c \"open('notes.md', 'x').write('agent')\" && mkdir out");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    sleep_ms(20);  // the user's edits come after the session's end
    append(h.ws / "plain.md", "user's line\n");
    append(h.ws / "notes.md", "user's line\n");
    plant_file(h.ws / "out/report.txt", "user's report\n");
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 1);  // conflicts
    CHECK_THAT(rb.out, Catch::Contains("changed after the session"));
    CHECK(*sandboxd::read_file(h.ws / "plain.md") == "agent\nuser's line\n");
    CHECK(*sandboxd::read_file(h.ws / "notes.md") == "agentuser's line\n");
    CHECK(*sandboxd::read_file(h.ws / "out/report.txt") == "user's report\n");
}

TEST_CASE("rollback --path through a directory the agent replaced by a symlink sweeps nothing it leads to") {
    Host h;
    TempDir victim("sandboxd-victim", "/var/tmp");
    plant_file(h.ws / "src/lib/a.c", "int a;\n");
    REQUIRE(sandboxd::make_dirs(victim / "lib", 0755).ok());
    auto r = h.run_meanwhile(
        {"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--", "sh", "-c",
         "mv src src.old && ln -s " + shell_word(victim.path()) + " src && touch ready && " +
             shell_wait_for("host-done")},
        [&] {
            wait_for_path(h.ws / "ready");
            // Made by the host while the session runs: born in its window.
            plant_file(victim / "lib/newfile", "host's\n");
            plant_file(h.ws / "host-done", "");
        });
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    for (std::string path : {h.ws / "src/lib", h.ws / "src/lib/../.."}) {
        INFO(path);
        auto rb = h.ctl({"rollback", only_session(h), "--path", path, "--dry-run"});
        INFO(rb.out << rb.err);
        CHECK_THAT(rb.out, !Catch::Contains("newfile"));
    }
    auto rb = h.ctl({"rollback", only_session(h), "--path", h.ws / "src/lib"});
    INFO(rb.out << rb.err);
    CHECK(path_exists(victim / "lib/newfile"));
    CHECK_THAT(rb.out, !Catch::Contains("newfile"));
}
