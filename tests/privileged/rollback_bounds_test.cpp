// What rollback, run as root, must leave alone: what the user changed or
// made after the session, even where the agent made the name first, and
// anything a symlink the agent left leads to. Red-team findings: the final
// sweep took the user's edits into the trash (which prune empties), and
// `--path` through a directory the agent had replaced by a symlink swept
// what the host made elsewhere during the session.
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "base/file_io.h"
#include "journal/journal.h"
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

// A store on a mount whose root the agent's user owns, inside a later
// session's write tree: that session's agent moved the real
// .sandboxd-snapshots aside and made one of its own, whose "snapshot"
// rollback of the first session then put in the user's file (a red-team
// finding; a FIFO there held rollback for ever). Rollback uses a store only
// inside root's own 0700 directory, reached with no symlink.
TEST_CASE("rollback uses no snapshot store an agent put in place of the real one") {
    Host h;
    std::string disk = h.ws / "disk";
    REQUIRE(::mkdir(disk.c_str(), 0755) == 0);
    REQUIRE(::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=16m,mode=0755") == 0);
    Unmount unmount{disk};
    REQUIRE(::chown(disk.c_str(), kAgentUid, kAgentGid) == 0);
    plant_file(disk + "/proj/run.sh", "echo original\n", 0755);
    auto first = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", disk + "/proj", "--",
                        "sh", "-c", "echo changed > run.sh"});
    INFO(first.out << first.err);
    REQUIRE(first.status == 0);
    std::string id = only_session(h);
    auto lines = sandboxd::read_journal(h.dirs().journal_path(id));
    REQUIRE(lines.ok());
    std::string snapshot;
    for (const auto& l : *lines)
        if (l.value.contains("undo") && l.value["undo"].is_object() && l.value["undo"].contains("snapshot"))
            snapshot = l.value["undo"]["snapshot"].get<std::string>();
    REQUIRE(snapshot.starts_with(disk + "/.sandboxd-snapshots/"));
    std::string planted = snapshot.substr(disk.size() + 1);
    auto second = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                         "sh", "-c",
                         "cd disk && mv .sandboxd-snapshots .old && mkdir -p $(dirname " + shell_word(planted) +
                             ") && echo 'echo PWNED' > " + shell_word(planted)});
    INFO(second.out << second.err);
    REQUIRE(second.status == 0);
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 1);
    CHECK_THAT(rb.out, Catch::Contains("not sandboxd's own"));
    CHECK(*sandboxd::read_file(disk + "/proj/run.sh") != "echo PWNED\n");
}

// The host's own edit of a file during the session, after the agent's:
// rollback brings the old bytes back (the session's changes go, as
// documented), and keeps the file it replaces in the trash rather than
// throwing it away, the host's edit with it (a red-team finding).
TEST_CASE("rollback keeps the file it replaces with old bytes - a host's edit during the session is in the trash") {
    Host h;
    plant_file(h.ws / "f", "v1\n");
    auto r = h.run_meanwhile({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(),
                              "--", "sh", "-c", "echo agent >> f && touch ready && " + shell_wait_for("host-done")},
                             [&] {
                                 wait_for_path(h.ws / "ready");
                                 append(h.ws / "f", "host\n");
                                 plant_file(h.ws / "host-done", "");
                             });
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    std::string id = only_session(h);
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "f") == "v1\n");
    bool kept = false;
    for (const auto& name : list_dir(h.state / ("sessions/" + id + "/snapshots/rolled-back")))
        if (auto text = sandboxd::read_file(h.state / ("sessions/" + id + "/snapshots/rolled-back/" + name)))
            kept = kept || *text == "v1\nagent\nhost\n";
    CHECK(kept);
}

// The sweep holds a descriptor for each level of a tree: with the usual
// 1024 it stopped at about 1,000 levels and left the rest of a deeper tree
// the agent made (EMFILE; a red-team finding). Rollback takes more.
TEST_CASE("rollback takes away a tree the agent made 1500 levels deep") {
    Host h;
    auto r = agent_sh(h, "python3 -c \"import os\nfor i in range(1500):\n    os.mkdir('d'); os.chdir('d')\n"
                         "open('f', 'w').write('x')\"");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    // As an admin's shell has it (sandboxctl inherits it).
    rlimit files{}, usual{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
    usual = files;
    usual.rlim_cur = std::min<rlim_t>(files.rlim_cur, 1024);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &usual) == 0);
    auto rb = h.ctl({"rollback", only_session(h)});
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &files) == 0);
    INFO(rb.out.substr(0, 2000) << rb.err);
    CHECK(rb.status == 0);
    CHECK_FALSE(path_exists(h.ws / "d"));
}

// A file the user saves into the workspace while a session runs is born
// in the session's window, and is the agent's user's when the agent runs
// as the user (sandbox-run's default). Deleted by the agent, its snapshot
// was taken for the agent's own litter: dropped first when the budget was
// full, and rollback then had nothing to bring it back from. Where every
// create passes the gate (names are guarded), only what the gate made for
// the agent gives way. A red-team finding (F5).
TEST_CASE("rollback: a file the user saved during the session is never dropped as the agent's litter") {
    Host h;
    const std::string old(12 * 1024, 'o'), users(8 * 1024, 'u');
    plant_file(h.ws / "old.txt", old);
    std::string prof = h.profile("tight-user", "name = 'tight-user'\nextends = '" + h.workspace_profile +
                                                   "'\n[snapshots]\nbudget = '16K'\n");
    // In a 16 KiB budget: the user's file (8 KiB), the agent's litter (4
    // KiB), then the old file (12 KiB), which fits only if the user's
    // snapshot is dropped. It must not be: the old file's delete is refused.
    auto r = h.run_meanwhile(
        {"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--", "sh", "-c",
         "touch ready; " + shell_wait_for("saved") +
             "rm user.txt && echo user-gone; head -c 4096 /dev/zero > litter && rm litter && echo litter-gone; "
             "rm old.txt 2>/dev/null && echo old-gone || echo old-refused"},
        [&] {
            wait_for_path(h.ws / "ready");
            plant_file(h.ws / "user.txt", users);  // the agent's uid, born now
            plant_file(h.ws / "saved", "");
        });
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "user-gone\nlitter-gone\nold-refused\n");
    CHECK(*sandboxd::read_file(h.ws / "old.txt") == old);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    // Back, and left in place: not swept into the trash as the agent's.
    CHECK(*sandboxd::read_file(h.ws / "user.txt") == users);
    CHECK(*sandboxd::read_file(h.ws / "old.txt") == old);
    CHECK_FALSE(path_exists(h.ws / "litter"));
    CHECK_FALSE(path_exists(h.ws / "ready"));
}
