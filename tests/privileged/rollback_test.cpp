// Rollback: real programs change a workspace inside a real session, then
// `sandboxctl rollback` must bring back the tree exactly as it was:
// contents, modes, owners, symlink targets and structure.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>
#include <fstream>
#include <sstream>

#include "base/file_io.h"
#include "journal/journal.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

// The supervisor's line that a frozen session's changes are over: it
// comes a moment after sandboxctl freeze (or a write to cgroup.freeze)
// returns. At most 5 s.
void wait_for_quiesced(const std::string& journal) {
    for (int i = 0; i < 250 && sandboxd::read_file(journal)->find("session.quiesced") == std::string::npos; ++i)
        sleep_ms(20);
}

// Runs `script` as the agent, checks it changed the tree, rolls back and
// checks the tree is what it was.
void change_then_roll_back(const Host& h, const std::string& script) {
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, script);
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE(tree_state(h.ws.path()) != before);
    std::string id = only_session(h);
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

uint64_t seq_of(const Host& h, const std::string& id, const std::string& action, const std::string& target, int nth) {
    auto text = sandboxd::read_file(h.dirs().journal_path(id));
    REQUIRE(text);
    std::istringstream in(*text);
    std::string line;
    int seen = 0;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        if (j["action"] == action && j["target"] == target && ++seen == nth) return j["seq"];
    }
    FAIL("no journal line " << action << " " << target << " #" << nth);
    return 0;
}

// The workspace holds files "a" and "b"; a session whose snapshots are kept
// one second removes "a". Returns that session's id.
std::string short_retention_session_removing_a(const Host& h) {
    plant_file(h.ws / "a", "a");
    plant_file(h.ws / "b", "b");
    std::string shortlived = h.profile("short", "name = 'short'\nextends = '" + h.workspace_profile +
                                                    "'\n[snapshots]\nretention = '1s'\n");
    REQUIRE(h.run({"--user", kAgentUser, "--profile", shortlived, "--workspace", h.ws.path(), "--", "rm", "a"}).status == 0);
    return only_session(h);
}

}  // namespace

TEST_CASE("rollback: rm -rf of a 1000-file tree comes back whole") {
    Host h;
    for (int d = 0; d < 10; ++d)
        for (int f = 0; f < 100; ++f)
            plant_file(h.ws / ("tree/d" + std::to_string(d) + "/f" + std::to_string(f)), std::to_string(d * f),
                       f % 3 ? 0644 : 0600);
    REQUIRE(symlink("d1/f1", (h.ws / "tree/link").c_str()) == 0);
    REQUIRE(lchown((h.ws / "tree/link").c_str(), kAgentUid, kAgentGid) == 0);
    change_then_roll_back(h, "rm -rf tree");
}

TEST_CASE("rollback: sed -i / shell truncation / appends and python rewriting in place") {
    Host h;
    plant_file(h.ws / "sed.txt", "alpha\nbeta\n", 0640);
    plant_file(h.ws / "trunc.txt", "to be truncated\n");
    plant_file(h.ws / "append.log", "line 1\n");
    plant_file(h.ws / "py.txt", "python was here\n");
    plant_file(h.ws / "rw.bin", "0123456789");
    change_then_roll_back(h,
                          "sed -i s/alpha/ALPHA/ sed.txt && : > trunc.txt && echo line 2 >> append.log && "
                          "python3 -c \"open('py.txt','w').write('rewritten')\" && "
                          "python3 -c \"f=open('rw.bin','r+b'); f.seek(3); f.write(b'XX')\" && "
                          "echo new > brand-new.txt && mkdir -p made/deeper && echo z > made/deeper/z");
}

TEST_CASE("rollback: writes through opens with O_EXCL but no O_CREAT (which the kernel ignores) come back") {
    Host h;
    plant_file(h.ws / "mapped.bin", "original bytes\n");
    plant_file(h.ws / "excl-trunc.txt", "not to be lost\n");
    plant_file(h.ws / "excl-write.txt", "kept as well\n");
    // A shared writable mapping, a truncation and a plain write, each
    // through an open that says O_EXCL and so, read as "can only create",
    // once passed the gate with no snapshot.
    change_then_roll_back(h,
                          "python3 -c \"import os, mmap\n"
                          "fd = os.open('mapped.bin', os.O_RDWR | os.O_EXCL); m = mmap.mmap(fd, 0); m[:] = b'M' * len(m)\n"
                          "os.close(os.open('excl-trunc.txt', os.O_WRONLY | os.O_EXCL | os.O_TRUNC))\n"
                          "fd = os.open('excl-write.txt', os.O_WRONLY | os.O_EXCL); os.write(fd, b'GARBAGE')\"");
}

TEST_CASE("rollback: a file written through another of its names - and one whose other name was removed first") {
    Host h;
    plant_file(h.ws / "a", "a's old bytes\n");
    plant_file(h.ws / "b", "b's old bytes\n");
    // Written through a second name made in the session: rollback used to
    // put the old bytes back at that name only, as a new file, and left
    // "a" (the file written) with the agent's bytes.
    // Removed under one name while it lived on under another: the store
    // kept the file itself, and writing through the other name changed
    // the snapshot too.
    change_then_roll_back(h, "ln a a2 && echo GARBAGE > a2 && ln b b2 && rm b && echo GARBAGE > b2 && rm b2");
    CHECK(*sandboxd::read_file(h.ws / "a") == "a's old bytes\n");
    CHECK(*sandboxd::read_file(h.ws / "b") == "b's old bytes\n");
}

TEST_CASE("rollback: two names of one file from before the session come back as one file with its old bytes") {
    Host h;
    plant_file(h.ws / "a", "orig\n");
    REQUIRE(link((h.ws / "a").c_str(), (h.ws / "b").c_str()) == 0);
    // The name moved, the file written through the other name, then the
    // moved name removed: a copy taken at the removal had the agent's
    // bytes, and rollback put them back at "b".
    change_then_roll_back(h, "mv b c && echo EVIL > a && rm c");
    CHECK(*sandboxd::read_file(h.ws / "b") == "orig\n");
    struct stat sa{}, sb{};
    REQUIRE(stat((h.ws / "a").c_str(), &sa) == 0);
    REQUIRE(stat((h.ws / "b").c_str(), &sb) == 0);
    CHECK(sa.st_ino == sb.st_ino);
    CHECK(sa.st_nlink == 2);
}

// Taking away one new name of an old file changes the file's ctime: the
// next new name of it looked changed after the session, a conflict left in
// place. A red-team finding.
TEST_CASE("rollback: two new names of one old file both go - the first one's removal is no conflict for the second") {
    Host h;
    plant_file(h.ws / "old", "old\n");
    change_then_roll_back(h, "mkdir newdir && ln old newdir/lnk && mkdir -p a/b && ln old a/b/l2");
    struct stat st{};
    REQUIRE(stat((h.ws / "old").c_str(), &st) == 0);
    CHECK(st.st_nlink == 1);
}

TEST_CASE("rollback: restoring old bytes destroys nothing else - also beside a 240-byte name - and keeps xattrs") {
    Host h;
    plant_file(h.ws / "precious", "precious\n");
    plant_file(h.ws / "x", "x's old bytes\n");
    std::string long_name(240, 'a');
    plant_file(h.ws / long_name, "long\n");
    plant_file(h.ws / "attrs", "attrs\n");
    for (const char* name : {"user.k", "trusted.k"})
        REQUIRE(setxattr((h.ws / "attrs").c_str(), name, "v", 1, 0) == 0);
    // Rollback made its temporary file under a name made from the
    // restored one, and removed whatever had that name first: here, the
    // original the agent moved there. A 240-byte name left no room for it.
    change_then_roll_back(h, "mv precious .sandboxd-rollback-x; echo more >> x; echo more >> " + long_name +
                                 "; echo more >> attrs");
    CHECK(*sandboxd::read_file(h.ws / "precious") == "precious\n");
    for (const char* name : {"user.k", "trusted.k"}) {
        char v[4] = {};
        CHECK(getxattr((h.ws / "attrs").c_str(), name, v, sizeof v) == 1);
    }
}

TEST_CASE("rollback: a file made longer by truncate() alone is cut back") {
    Host h;
    plant_file(h.ws / "grown", "grown\n");
    plant_file(h.ws / "grown-by-fd", "by fd\n");
    change_then_roll_back(h, "python3 -c \"import os\n"
                             "os.truncate('grown', 100000)\n"
                             "fd = os.open('grown-by-fd', os.O_RDONLY); os.close(fd); os.truncate('grown-by-fd', 7)\"");
    CHECK(*sandboxd::read_file(h.ws / "grown") == "grown\n");
}

TEST_CASE("rollback: metadata changed through a descriptor held past the unlink cannot reach the snapshot") {
    Host h;
    plant_file(h.ws / "a", "A\n", 0600);
    // The descriptor outlives the name; the file itself now lives in the
    // snapshot store, and a change through it would have changed what
    // rollback brings back, with no undo record of its own.
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, "python3 -c \"import os\n"
                         "fd = os.open('a', os.O_RDONLY); os.unlink('a')\n"
                         "for what, call in (('chmod', lambda: os.fchmod(fd, 0o777)), "
                         "('xattr', lambda: os.setxattr(fd, 'user.evil', b'1'))):\n"
                         "    try: call(); print(what, 'changed')\n"
                         "    except OSError as e: print(what, 'refused', e.errno)\n"
                         "t = os.open('.', os.O_TMPFILE | os.O_WRONLY, 0o600); os.fchmod(t, 0o640); print('tmpfile ok')\"");
    INFO(r.err);
    CHECK(r.out == "chmod refused 13\nxattr refused 13\ntmpfile ok\n");
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

TEST_CASE("rollback: an original cannot be moved where no host path reaches it (past PATH_MAX)") {
    Host h;
    plant_file(h.ws / "orig", "orig\n");
    // 20 directories of 250 bytes, made one inside the other: the undo
    // record of a move down there had only a relative path, which rollback
    // looked for in its own working directory.
    auto r = agent_sh(h, "python3 -c \"import os\n"
                         "top = os.open('.', os.O_RDONLY)\n"
                         "for i in range(20): os.mkdir('d' * 250); os.chdir('d' * 250)\n"
                         "try: os.rename('orig', 'f', src_dir_fd=top); print('moved')\n"
                         "except OSError as e: print('refused', e.errno)\"");
    INFO(r.err);
    CHECK(r.out == "refused " + std::to_string(EACCES) + "\n");
    CHECK(*sandboxd::read_file(h.ws / "orig") == "orig\n");
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
}

TEST_CASE("rollback: what the agent made past PATH_MAX goes too - also inside a directory that was there before") {
    Host h;
    REQUIRE(sandboxd::make_dirs(h.ws / "old", 0755).ok());
    REQUIRE(chown((h.ws / "old").c_str(), kAgentUid, kAgentGid) == 0);
    plant_file(h.ws / "old/keep", "keep\n");
    std::string before = tree_state(h.ws.path());
    // 25 directories of 200 bytes, one in the other, with a file at the
    // bottom (made with O_EXCL: no journal line, only the sweep finds it);
    // and a file of the longest name at the top.
    auto r = agent_sh(h, "python3 -c \"import os\n"
                         "for top in ('.', 'old'):\n"
                         "    os.chdir(top)\n"
                         "    for i in range(25): os.mkdir('d' * 200); os.chdir('d' * 200)\n"
                         "    os.close(os.open('payload', os.O_WRONLY | os.O_CREAT | os.O_EXCL))\n"
                         "    os.chdir(os.environ['PWD'])\n"
                         "os.close(os.open('n' * 255, os.O_WRONLY | os.O_CREAT | os.O_EXCL))\"");
    INFO(r.err);
    REQUIRE(r.status == 0);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

TEST_CASE("rollback: a directory the agent names like the snapshot stores is swept like any other") {
    Host h;
    plant_file(h.ws / "src/a", "orig\n");
    REQUIRE(chown((h.ws / "src").c_str(), kAgentUid, kAgentGid) == 0);
    // The sweep skipped the name .sandboxd-snapshots at any depth: a place
    // for the agent to leave files that outlive a complete rollback.
    change_then_roll_back(h, "mkdir src/.sandboxd-snapshots .sandboxd-snapshots && "
                             "python3 -c \"import os\n"
                             "for d in ('src/.sandboxd-snapshots', '.sandboxd-snapshots'):\n"
                             "    os.close(os.open(d + '/evil', os.O_WRONLY | os.O_CREAT | os.O_EXCL))\"");
}

TEST_CASE("rollback: git checkout / reset --hard and clean -fdx in a real repository") {
    Host h;
    auto git = [&](const std::string& args) {
        auto r = run({"/bin/sh", "-c", "cd " + h.ws.path() + " && git -c safe.directory='*' -c user.name=t -c user.email=t@t " + args});
        INFO(r.err);
        REQUIRE(r.status == 0);
    };
    plant_file(h.ws / "src/main.c", "int main(void) { return 0; }\n");
    plant_file(h.ws / "src/util.c", "int util(void) { return 1; }\n");
    plant_file(h.ws / ".gitignore", "build/\n");
    git("init -q && git -c safe.directory='*' add -A && git -c safe.directory='*' -c user.name=t -c user.email=t@t commit -qm one");
    REQUIRE(run({"/bin/chown", "-R", std::to_string(kAgentUid) + ":" + std::to_string(kAgentGid), h.ws.path()}).status == 0);
    // Work in progress the agent's git commands will wipe out.
    plant_file(h.ws / "src/main.c", "int main(void) { return 42; /* unsaved work */ }\n");
    REQUIRE(unlink((h.ws / "src/util.c").c_str()) == 0);
    plant_file(h.ws / "notes.txt", "untracked notes\n");
    plant_file(h.ws / "build/out.o", "object code");
    change_then_roll_back(h, "git checkout -- . && git reset -q --hard && git clean -qfdx");
}

TEST_CASE("rollback: a file changed several times - --to an intermediate state / then all the way") {
    Host h;
    plant_file(h.ws / "f.txt", "v0");
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, "echo v1 > f.txt; echo v2 > f.txt; echo v3 > f.txt");
    REQUIRE(r.status == 0);
    std::string id = only_session(h);
    uint64_t first = seq_of(h, id, "file.open-truncate", h.ws / "f.txt", 1);
    auto dry = h.ctl({"rollback", id, "--to", std::to_string(first), "--dry-run"});
    CHECK(dry.status == 0);
    CHECK_THAT(dry.out, Catch::Contains("planned") && Catch::Contains("dry run"));
    CHECK(*sandboxd::read_file(h.ws / "f.txt") == "v3\n");  // a dry run changes nothing
    auto to = h.ctl({"rollback", id, "--to", std::to_string(first)});
    INFO(to.out << to.err);
    CHECK(to.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "f.txt") == "v1\n");
    auto all = h.ctl({"rollback", id});
    INFO(all.out << all.err);
    CHECK(all.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

// The old bytes of a file are kept at its first open for writing only:
// appended to before and after a point, its bytes at the point were never
// kept, and `--to` left it as it was and said nothing (helper 41). An open
// for writing again, with any other line in between, is now a line of its
// own, and `--to` reports the file as a conflict.
TEST_CASE("rollback: --to a point between two appends to a file says it cannot bring its bytes back - a full rollback can") {
    Host h;
    plant_file(h.ws / "f", "original\n");
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, "echo w1 >> f && echo m > mark && rm mark && sleep 0.05 && echo w2 >> f && echo w3 >> f");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    std::string id = only_session(h);
    // One line for the second and third opens: nothing came between them.
    auto lines = sandboxd::read_journal(h.dirs().journal_path(id));
    REQUIRE(lines.ok());
    int opens = 0;
    for (const auto& l : *lines)
        if (l.value.value("action", "") == "file.open-write" && l.value.value("target", "") == h.ws / "f") ++opens;
    CHECK(opens == 2);
    auto to = h.ctl({"rollback", id, "--to", std::to_string(seq_of(h, id, "file.unlink", h.ws / "mark", 1))});
    INFO(to.out << to.err);
    CHECK(to.status == 1);
    CHECK_THAT(to.out, Catch::Contains("bring back " + h.ws / "f" + " as it was at the point") &&
                           Catch::Contains("its bytes at the point were never kept"));
    CHECK(*sandboxd::read_file(h.ws / "f") == "original\nw1\nw2\nw3\n");
    auto all = h.ctl({"rollback", id});
    INFO(all.out << all.err);
    CHECK(all.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

// `--to` takes away what the agent made after the point by birth time,
// which the filesystem stamps with its clock's last tick (4 ms at
// HZ=250): what was made right after the point looked made before it, and
// stayed, silently (helper 41). Such an object is now said: removed, or
// left as a conflict that names it; never silently kept.
TEST_CASE("rollback: --to and what the agent made right after the point - removed or named, never silently kept") {
    Host h;
    plant_file(h.ws / "f", "original\n");
    bool pause = GENERATE(false, true);
    auto r = agent_sh(h, std::string("echo x > f && echo m > mark && rm mark && ") + (pause ? "sleep 0.05 && " : "") +
                             "mkdir -p a/b && mkfifo fifo && ln -s f sym");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    std::string id = only_session(h);
    auto to = h.ctl({"rollback", id, "--to", std::to_string(seq_of(h, id, "file.unlink", h.ws / "mark", 1))});
    INFO(to.out << to.err);
    for (const char* name : {"a/b", "a", "fifo", "sym"}) {
        INFO(name);
        CHECK((!path_exists(h.ws / name) ||
               to.out.find(h.ws / name + " was made within a tick of the filesystem's clock") != std::string::npos));
    }
    if (pause) {  // well after the point: all of it goes
        CHECK(to.status == 0);
        CHECK(list_dir(h.ws.path()) == std::vector<std::string>{"f"});
    }
    CHECK(*sandboxd::read_file(h.ws / "f") == "x\n");
}

TEST_CASE("rollback: chmod and extended attributes come back") {
    Host h;
    plant_file(h.ws / "script.sh", "echo hi\n", 0640);
    plant_file(h.ws / "tagged", "t");
    REQUIRE(::setxattr((h.ws / "tagged").c_str(), "user.origin", "human", 5, 0) == 0);
    auto attrs = [&](const std::string& p) {
        char buf[256];
        ssize_t n = ::getxattr(p.c_str(), "user.origin", buf, sizeof buf);
        return n < 0 ? std::string("(none)") : std::string(buf, size_t(n));
    };
    std::string before = tree_state(h.ws.path());
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                    "python3", "-c",
                    "import os; os.chmod('script.sh', 0o777); os.setxattr('tagged', 'user.origin', b'agent'); "
                    "os.setxattr('script.sh', 'user.new', b'x')"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(attrs(h.ws / "tagged") == "agent");
    CHECK(tree_state(h.ws.path()) != before);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
    CHECK(attrs(h.ws / "tagged") == "human");
    char buf[8];
    CHECK(::getxattr((h.ws / "script.sh").c_str(), "user.new", buf, sizeof buf) < 0);
}

// rmdir and mkdir again under the same name: the directory there after the
// session is the agent's (its owner, any mode it chose), not the user's.
// Rollback took it for the original and said done, leaving the user's
// files in an agent-owned, world-writable directory (or, if empty, swept
// it away and the original with it).
TEST_CASE("rollback: a directory removed and made again by the agent - the original comes back, not the agent's") {
    Host h;
    plant_file(h.ws / "scripts/build.sh", "#!/bin/sh\nmake\n", 0755);
    REQUIRE(::mkdir((h.ws / "empty").c_str(), 0750) == 0);
    for (const char* d : {"scripts", "empty"}) {
        REQUIRE(::chown((h.ws / d).c_str(), 0, kAgentGid) == 0);
        REQUIRE(::chmod((h.ws / d).c_str(), 0775) == 0);
    }
    REQUIRE(::chown((h.ws / "scripts/build.sh").c_str(), 0, kAgentGid) == 0);
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, "rm -rf scripts && rmdir empty && umask 0 && mkdir scripts empty && touch empty/mine");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    struct stat st{};
    REQUIRE(::stat((h.ws / "scripts").c_str(), &st) == 0);
    REQUIRE(st.st_uid == kAgentUid);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
    REQUIRE(::stat((h.ws / "scripts").c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 07777) == 0775);
}

// A directory the agent made and removed was made again by rollback (as
// its own, so never swept): left behind, and where the agent had moved the
// user's directory away and made one of its own with a subdirectory it then
// removed, the remade subdirectory kept the user's directory from coming
// back (a conflict; only --force restored it).
TEST_CASE("rollback: directories the agent made and removed are not made again - the user's moved directory comes back") {
    Host h;
    plant_file(h.ws / "src/main.c", "int main() {}\n");
    plant_file(h.ws / "notes.txt", "keep me\n");
    REQUIRE(::chown((h.ws / "src").c_str(), kAgentUid, kAgentGid) == 0);
    std::string before = tree_state(h.ws.path());
    // Also one a pre-existing file passed through: it is made for the way
    // back, and taken away once the file has gone back out of it.
    auto r = agent_sh(h, "mv src .hidden_src && mkdir -p src/tmp && rmdir src/tmp && umask 0 && mkdir -m 777 agentdir && "
                         "rmdir agentdir && mkdir via && mv notes.txt via/ && cp via/notes.txt n2 && rm via/notes.txt && "
                         "rmdir via && mv n2 notes.txt");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK_THAT(rb.out, Catch::Contains("a directory the agent made after the point rolled back to"));
    CHECK(tree_state(h.ws.path()) == before);
    CHECK_FALSE(path_exists(h.ws / "agentdir"));
    CHECK_FALSE(path_exists(h.ws / "via"));
    CHECK(*sandboxd::read_file(h.ws / "src/main.c") == "int main() {}\n");
}

// RENAME_WHITEOUT over an existing file: the gate did a plain rename (no
// whiteout left where the source was), unlike the kernel. Red-team finding.
// What the agent made and took away again was not there before the
// session: nothing of it is brought back, and nothing it did to it is
// undone. A differential fuzzer of rollback (helper 41) found it brought
// such objects back, as rollback's own, which then stayed: a directory
// that replaced a file was made again for the files that had been in it,
// and the file could not come back (rc 1); an empty directory, an
// O_EXCL-made file written again, a link of the agent's under two names
// stayed (rc 0); the agent's chmod of a directory it removed was an error.
TEST_CASE("rollback: objects the agent made and removed again are not brought back - the tree is exactly as it was") {
    Host h;
    plant_file(h.ws / "d/f", "original\n");
    plant_file(h.ws / "d/keep", "keep\n");
    plant_file(h.ws / "P/f", "p\n");
    REQUIRE(sandboxd::make_dirs(h.ws / "P/sub", 0755).ok());
    REQUIRE(run({"/bin/chown", "-R", std::to_string(kAgentUid) + ":" + std::to_string(kAgentGid), h.ws.path()}).status == 0);
    const std::string excl = "python3 -c \"import os; os.close(os.open('NAME', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))\"";
    auto excl_create = [&](const std::string& name) { return std::regex_replace(excl, std::regex("NAME"), name); };
    std::string script;
    SECTION("a file replaced by a directory holding a file, all removed") {
        script = "rm d/f && mkdir d/f && echo x > d/f/inner && rm -rf d/f";
    }
    SECTION("a directory made with a file made O_EXCL inside, removed") {
        script = "mkdir d/new && " + excl_create("d/new/f") + " && rm -rf d/new";
    }
    SECTION("a file made O_EXCL, then written again") { script = excl_create("new") + " && echo more >> new"; }
    SECTION("a directory made, chmod-ed and removed") { script = "mkdir x && chmod 700 x && rmdir x"; }
    SECTION("a symlink given a second name, both removed") { script = "ln -s nowhere d/s && ln d/s d/hl && rm d/s d/hl"; }
    SECTION("a symlink given a second name, one removed, the other replaced") {
        script = "ln -s nowhere d/s && ln d/s d/hl && rm d/s && mv d/f d/hl";
    }
    // Brought back for an earlier line to move it, and the agent's still
    // (helper 44: left in the way of the user's file, rc 1; or left alone,
    // world-writable, rc 0).
    SECTION("a directory made in place of a moved file, moved into a directory removed after") {
        script = "mv d/f d/f.bak && mkdir d/f && mv d/f P/sub/g && rm -rf P";
    }
    SECTION("a directory made, moved into a directory removed after") {
        script = "umask 0 && mkdir node_modules && mv node_modules P/sub/ && rm -rf P";
    }
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, script);
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK_THAT(rb.out, Catch::Contains("0 conflict(s), 0 error(s)"));
    CHECK(tree_state(h.ws.path()) == before);
}

// `--to` brings back what the agent made before the point and removed
// after it; a full rollback after it takes that away again (it kept what
// the first had moved back, as if someone else had made it).
TEST_CASE("rollback: --to brings back an object the agent made before the point - a full rollback then takes it away") {
    Host h;
    plant_file(h.ws / "d/keep", "keep\n");
    REQUIRE(chown((h.ws / "d").c_str(), kAgentUid, kAgentGid) == 0);
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, "python3 -c \"import os; os.close(os.open('d/new', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))\" && "
                         "sleep 0.05 && echo m > mark && rm mark && rm -rf d");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    std::string id = only_session(h);
    auto to = h.ctl({"rollback", id, "--to", std::to_string(seq_of(h, id, "file.unlink", h.ws / "mark", 1))});
    INFO(to.out << to.err);
    CHECK(to.status == 0);
    CHECK(path_exists(h.ws / "d/new"));
    CHECK(*sandboxd::read_file(h.ws / "d/keep") == "keep\n");
    CHECK_FALSE(path_exists(h.ws / "mark"));
    auto all = h.ctl({"rollback", id});
    INFO(all.out << all.err);
    CHECK(all.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

TEST_CASE("rollback: a rename with RENAME_WHITEOUT over a file leaves the kernel's whiteout - and both come back") {
    Host h;
    plant_file(h.ws / "a", "a\n");
    plant_file(h.ws / "b", "b\n");
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, "python3 -c \"import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                         "print(libc.syscall(316, -100, b'a', -100, b'b', 4), ctypes.get_errno())\"");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "0 0\n");
    struct stat st{};
    REQUIRE(::lstat((h.ws / "a").c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(st.st_rdev == 0);
    CHECK(*sandboxd::read_file(h.ws / "b") == "a\n");
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

TEST_CASE("rollback: a rename chain a to b to c goes back to a") {
    Host h;
    plant_file(h.ws / "a", "the one file");
    plant_file(h.ws / "c-old", "unrelated");
    change_then_roll_back(h, "mv a b && mv b c && mv c-old c2 && mv c c2");
}

TEST_CASE("rollback: --path limits the undo to one subtree") {
    Host h;
    plant_file(h.ws / "keep/x", "x");
    plant_file(h.ws / "undo/y", "y");
    auto r = agent_sh(h, "rm keep/x undo/y");
    REQUIRE(r.status == 0);
    auto rb = h.ctl({"rollback", only_session(h), "--path", h.ws / "undo"});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(path_exists(h.ws / "undo/y"));
    CHECK_FALSE(path_exists(h.ws / "keep/x"));
}

TEST_CASE("rollback: a file changed outside the session after it is a conflict / unless --force") {
    Host h;
    plant_file(h.ws / "shared.txt", "original");
    auto r = agent_sh(h, "echo agent > shared.txt");
    REQUIRE(r.status == 0);
    sleep_ms(20);
    plant_file(h.ws / "shared.txt", "someone else's later edit");
    std::string id = only_session(h);
    auto rb = h.ctl({"rollback", id});
    CHECK(rb.status == 1);
    CHECK_THAT(rb.out, Catch::Contains("conflict"));
    CHECK(*sandboxd::read_file(h.ws / "shared.txt") == "someone else's later edit");
    auto forced = h.ctl({"rollback", id, "--force"});
    INFO(forced.out << forced.err);
    CHECK(forced.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "shared.txt") == "original");
}

TEST_CASE("rollback: a file changed in place the moment sandbox-run returns is a conflict - the session's end is before that change") {
    // File times come from a clock up to a tick behind the one the end is
    // read from: a script editing a file right after the session could
    // stamp its edit before the end, and rollback would take it for the
    // agent's and write over it.
    for (int round = 0; round < 3; ++round) {
        Host h;
        plant_file(h.ws / "shared.txt", "original\n");
        REQUIRE(agent_sh(h, "echo agent > shared.txt").status == 0);
        {
            std::ofstream edit(h.ws / "shared.txt", std::ios::app);
            edit << "someone else's edit\n";
        }
        auto rb = h.ctl({"rollback", only_session(h)});
        INFO("round " << round << "\n" << rb.out << rb.err);
        CHECK(rb.status == 1);
        CHECK_THAT(rb.out, Catch::Contains("conflict"));
        CHECK(*sandboxd::read_file(h.ws / "shared.txt") == "agent\nsomeone else's edit\n");
    }
}

TEST_CASE("rollback: a file edited by hand while the session is frozen is a conflict - not taken for the agent's") {
    Host h;
    plant_file(h.ws / "shared.txt", "original\n");
    Background b(h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                             "sh", "-c", "echo agent > shared.txt; echo done; sleep 60"}),
                 h.env());
    REQUIRE(b.wait_for_output("done", 10000));
    auto s = h.wait_for_session(1);
    REQUIRE(h.ctl({"freeze", s.record.id}).status == 0);
    wait_for_quiesced(s.record.journal);
    sleep_ms(20);
    {
        std::ofstream edit(h.ws / "shared.txt", std::ios::app);
        edit << "fixed by hand\n";
    }
    auto rb = h.ctl({"rollback", s.record.id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 1);
    CHECK_THAT(rb.out, Catch::Contains("conflict"));
    CHECK(*sandboxd::read_file(h.ws / "shared.txt") == "agent\nfixed by hand\n");
    // Once it ended (killed while frozen) the same.
    REQUIRE(h.ctl({"kill", s.record.id}).status == 0);
    b.wait();
    auto again = h.ctl({"rollback", s.record.id});
    INFO(again.out << again.err);
    CHECK(again.status == 1);
    CHECK(*sandboxd::read_file(h.ws / "shared.txt") == "agent\nfixed by hand\n");
}

TEST_CASE("rollback: a session frozen and thawed by writing cgroup.freeze itself - what the agent did after the thaw is still its own") {
    Host h;
    plant_file(h.ws / "first.txt", "first\n");
    plant_file(h.ws / "second.txt", "second\n");
    Background b(h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                             "sh", "-c", "echo agent > first.txt; echo done; sleep 1; echo agent > second.txt"}),
                 h.env());
    REQUIRE(b.wait_for_output("done", 10000));
    auto s = h.wait_for_session(1);
    std::string freeze = s.record.cgroup + "/cgroup.freeze";
    REQUIRE(sandboxd::write_file(freeze, "1"));
    wait_for_quiesced(s.record.journal);
    REQUIRE(sandboxd::write_file(freeze, "0"));
    b.wait();
    std::string journal = *sandboxd::read_file(s.record.journal);
    CHECK(journal.find("session.resumed") != std::string::npos);
    auto rb = h.ctl({"rollback", s.record.id});
    INFO(journal << rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "first.txt") == "first\n");
    CHECK(*sandboxd::read_file(h.ws / "second.txt") == "second\n");
}

TEST_CASE("rollback: unknown session / corrupt journal / missing snapshot: clear errors / nothing else lost") {
    Host h;
    auto unknown = h.ctl({"rollback", "ffffffffffff"});
    CHECK(unknown.status == 2);
    CHECK_THAT(unknown.err, Catch::Contains("no session journal matches"));

    plant_file(h.ws / "one", "1");
    plant_file(h.ws / "two", "2");
    REQUIRE(agent_sh(h, "rm one; rm two").status == 0);
    std::string id = only_session(h);
    std::string journal = h.dirs().journal_path(id);
    auto text = *sandboxd::read_file(journal);
    // A torn line in the middle: no step may run, the plan is still shown.
    REQUIRE(sandboxd::write_file_atomic(journal, text + "{\"seq\": 99, \"act\n", 0600));
    auto corrupt = h.ctl({"rollback", id});
    CHECK(corrupt.status == 1);
    CHECK_THAT(corrupt.err, Catch::Contains("journal line"));
    CHECK_THAT(corrupt.out, Catch::Contains("planned"));
    CHECK_FALSE(path_exists(h.ws / "one"));
    CHECK_FALSE(path_exists(h.ws / "two"));
    REQUIRE(sandboxd::write_file_atomic(journal, text, 0600));
    // One snapshot gone: that step fails, the other still comes back.
    std::string gone = h.state / ("sessions/" + id + "/snapshots/00000/000001");
    REQUIRE(unlink(gone.c_str()) == 0);
    auto partial = h.ctl({"rollback", id});
    CHECK(partial.status == 1);
    CHECK_THAT(partial.out, Catch::Contains("missing"));
    CHECK(path_exists(h.ws / "two"));
    CHECK(*sandboxd::read_file(h.ws / "two") == "2");
}

namespace {

// A `size` filesystem image in `img` made by `mkfs` (the image's path
// appended), loop-mounted at img/mnt (the caller unmounts it). False, with
// a warning, where loop mounts cannot be made here.
bool loop_mount_image(const TempDir& img, const std::string& size, std::vector<std::string> mkfs) {
    REQUIRE(::chmod(img.path().c_str(), 0755) == 0);  // the agent walks through it
    std::string image = img / "fs.img", mnt = img / "mnt";
    REQUIRE(run({"/usr/bin/truncate", "-s", size, image}).status == 0);
    mkfs.push_back(image);
    REQUIRE(run(mkfs).status == 0);
    REQUIRE(::mkdir(mnt.c_str(), 0755) == 0);
    auto m = run({"/bin/mount", "-o", "loop", image, mnt});
    if (m.status != 0) WARN("skipped: cannot loop-mount a " << mkfs.front() << " image here: " << m.err);
    return m.status == 0;
}

// `dir` made, the agent's.
std::string agents_dir(const std::string& dir) {
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(::chown(dir.c_str(), kAgentUid, kAgentGid) == 0);
    return dir;
}

}  // namespace

// On a filesystem that keeps no birth times (ext4 with 128-byte inodes)
// rollback's sweep cannot tell what the agent made: what came with no
// journal line of its own (O_EXCL creates, mkdir, symlinks, FIFOs) stayed
// after rollback, which said done (red-team finding). The gate now sees and
// journals every name made there.
TEST_CASE("rollback: on a filesystem without birth times what the agent made goes too") {
    TempDir img("sandboxd-nobtime", "/var/tmp");
    if (!loop_mount_image(img, "32M", {"/sbin/mkfs.ext4", "-q", "-I", "128"})) return;
    std::string mnt = img / "mnt";
    Unmount unmount{mnt};
    std::string ws = agents_dir(mnt + "/ws");
    plant_file(ws + "/keep", "keep\n");
    struct statx sx{};
    REQUIRE(::statx(AT_FDCWD, (ws + "/keep").c_str(), 0, STATX_BTIME, &sx) == 0);
    REQUIRE_FALSE(sx.stx_mask & STATX_BTIME);  // what the test is about
    Host h;
    std::string before = tree_state(ws);
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", ws, "--", "sh", "-c",
                    "mkdir d && echo x > d/f && python3 -c \"import os; os.close(os.open('excl', "
                    "os.O_CREAT | os.O_EXCL | os.O_WRONLY))\" && ln -s /etc/passwd sl && mkfifo ff && rm keep"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(ws) == before);
}

TEST_CASE("rollback: on a reflink filesystem (xfs) overwrites are reflinked and come back") {
    if (::access("/usr/sbin/mkfs.xfs", X_OK) != 0 && ::access("/sbin/mkfs.xfs", X_OK) != 0) {
        WARN("skipped: mkfs.xfs is not installed (tools/bootstrap installs xfsprogs)");
        return;
    }
    TempDir img("sandboxd-xfs", "/var/tmp");
    if (!loop_mount_image(img, "400M", {"/usr/sbin/mkfs.xfs", "-q", "-m", "reflink=1"})) return;
    std::string mnt = img / "mnt";
    Unmount unmount{mnt};
    std::string ws = agents_dir(mnt + "/ws");
    std::string big(64 << 20, 'q');
    plant_file(ws + "/big", big);
    plant_file(ws + "/small", "s");
    Host h;
    std::string before = tree_state(ws);
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", ws, "--", "sh", "-c",
                    "echo x > big && rm small"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::string id = only_session(h);
    // The store for this filesystem sits on it, at its root.
    std::string store = mnt + "/.sandboxd-snapshots/" + id;
    REQUIRE(path_exists(store));
    auto du = run({"/usr/bin/du", "-sm", "--apparent-size", store});
    auto used = run({"/bin/df", "--output=used", "-m", mnt});
    INFO(du.out << used.out);
    // 64 MiB of snapshot, but the filesystem holds it once: reflinked.
    CHECK(std::stol(used.out.substr(used.out.find('\n') + 1)) < 64 + 40);
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(ws) == before);
}

TEST_CASE("prune: snapshots past their retention go / the journal and younger ones stay") {
    Host h;
    std::string old_id = short_retention_session_removing_a(h);
    REQUIRE(agent_sh(h, "rm b").status == 0);
    std::string young_id;
    for (const auto& id : list_dir(h.state / "sessions"))
        if (id != old_id) young_id = id;
    REQUIRE_FALSE(young_id.empty());
    sleep_ms(1200);
    auto dry = h.ctl({"prune", "--dry-run"});
    CHECK(dry.status == 0);
    CHECK_THAT(dry.out, Catch::Contains("would remove") && Catch::Contains(old_id) && !Catch::Contains(young_id));
    CHECK(path_exists(h.state / ("sessions/" + old_id + "/snapshots/00000/000001")));
    auto r = h.ctl({"prune"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK_FALSE(path_exists(h.state / ("sessions/" + old_id + "/snapshots")));
    CHECK(path_exists(h.state / ("sessions/" + young_id + "/snapshots/00000/000001")));
    CHECK_THAT(*sandboxd::read_file(h.dirs().journal_path(old_id)), Catch::Contains("snapshots.pruned"));
    // Rolling back a pruned session says what is missing; nothing else happens.
    auto rb = h.ctl({"rollback", old_id});
    CHECK(rb.status == 1);
    CHECK_THAT(rb.out, Catch::Contains("missing"));
}

TEST_CASE("rollback: a symlink planted on the way after the session does not redirect root") {
    Host h;
    TempDir elsewhere("sandboxd-elsewhere", "/var/tmp");
    plant_file(h.ws / "sub/precious", "p");
    REQUIRE(agent_sh(h, "rm sub/precious").status == 0);
    // Someone with write access to the workspace swaps the directory for a
    // symlink to a place only root should write.
    REQUIRE(rename((h.ws / "sub").c_str(), (h.ws / "sub.real").c_str()) == 0);
    REQUIRE(symlink(elsewhere.path().c_str(), (h.ws / "sub").c_str()) == 0);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 1);
    CHECK_THAT(rb.out, Catch::Contains("symbolic link"));
    CHECK_FALSE(path_exists(elsewhere / "precious"));
}

TEST_CASE("rollback: over the budget the session's own litter gives way, never what was there before - rollback stays exact") {
    Host h;
    std::string old(12 * 1024, 'o');
    plant_file(h.ws / "old.txt", old);
    std::string before = tree_state(h.ws.path());
    std::string prof = h.profile("tight", "name = 'tight'\nextends = '" + h.workspace_profile +
                                              "'\n[snapshots]\nbudget = '16K'\n");
    // Ten 8 KiB files made and deleted: 80 KiB of snapshots in a 16 KiB
    // budget. Then the old file (12 KiB) must fit, by dropping the litter;
    // then one more 8 KiB delete cannot, as only the old file's is left.
    auto r = h.run({"--user", kAgentUser, "--profile", prof, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "i=0; while [ $i -lt 10 ]; do head -c 8192 /dev/zero > tmp$i && rm tmp$i || exit 1; i=$((i+1)); "
                    "done; echo litter-ok; rm old.txt && echo old-gone; "
                    "head -c 8192 /dev/zero > late; rm late 2>/dev/null || echo late-refused"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("litter-ok") && Catch::Contains("old-gone") && Catch::Contains("late-refused"));
    CHECK(path_exists(h.ws / "late"));
    std::string id = only_session(h);
    auto text = sandboxd::read_file(h.dirs().journal_path(id));
    REQUIRE(text);
    std::istringstream in(*text);
    std::string line;
    size_t dropped = 0;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        if (j.contains("detail") && j["detail"].contains("dropped_snapshots"))
            for (const auto& p : j["detail"]["dropped_snapshots"]) {
                ++dropped;
                CHECK_FALSE(path_exists(p.get<std::string>()));
            }
    }
    CHECK(dropped == 10);

    // Back to just after tmp5 was made: its snapshot is gone, and rollback
    // says so (and does the rest); the later ones were not there then.
    uint64_t made5 = seq_of(h, id, "file.create", h.ws / "tmp5", 1);
    auto to = h.ctl({"rollback", id, "--to", std::to_string(made5)});
    INFO(to.out << to.err);
    CHECK(to.status == 1);
    CHECK_THAT(to.out, Catch::Contains("dropped to make room") && Catch::Contains("skipped"));
    CHECK(*sandboxd::read_file(h.ws / "old.txt") == old);
    CHECK_FALSE(path_exists(h.ws / "late"));

    auto all = h.ctl({"rollback", id});
    INFO(all.out << all.err);
    CHECK(all.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

namespace {

size_t count_below(const std::string& root) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("rollback: the supervisor killed in the middle of an rm -rf - nothing is lost, and rollback brings back "
          "each file or names where it is kept") {
    std::optional<Host> host;
    std::multiset<std::string> all;
    constexpr int kFiles = 5000;
    size_t left = 0;
    // On a busy machine the whole rm -rf can pass between two looks (a
    // count of the tree takes milliseconds): then it is tried again, in a
    // fresh workspace.
    for (int attempt = 1; attempt <= 4 && left <= 100; ++attempt) {
        host.emplace();
        Host& h = *host;
        all.clear();
        for (int i = 0; i < kFiles; ++i) {
            std::string name = "f" + std::to_string(i);
            plant_file(h.ws / ("t/d" + std::to_string(i / 100) + "/" + name), name);
            all.insert(name);
        }
        Background b(h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(),
                                 "--", "rm", "-rf", h.ws / "t"}),
                     h.env());
        for (int i = 0; i < 20000; ++i) {
            left = count_below(h.ws / "t");
            if (left < kFiles * 3 / 4) break;
            usleep(500);
        }
        kill(b.pid(), SIGKILL);  // the supervisor, in the middle of it
        b.wait(10000);
    }
    REQUIRE(left > 100);  // caught it in the middle
    Host& h = *host;
    std::string id = only_session(h);
    std::string store = h.state / ("sessions/" + id + "/snapshots");

    // Nothing lost: each file is in the workspace or in the store.
    auto kept = contents_below(h.ws / "t");
    auto stored = contents_below(store);
    kept.insert(stored.begin(), stored.end());
    CHECK(difference(all, kept) == std::multiset<std::string>{});
    CHECK(difference(kept, all) == std::multiset<std::string>{});

    for (int i = 0; i < 200 && h.sessions()[0].state != sandboxd::SessionState::Stale; ++i) sleep_ms(10);
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    // Back in place, or named as an orphan the store keeps.
    auto back = contents_below(h.ws / "t");
    auto orphans = orphans_in(rb.out);
    auto kept_aside = orphan_contents(rb.out);
    back.insert(kept_aside.begin(), kept_aside.end());
    auto missing = difference(all, back), extra = difference(back, all);
    // A line the kill tore is sealed by rollback's own journal and reported
    // as lost: it never turns the rollback into a dry run.
    CHECK_THAT(rb.out, !Catch::Contains("dry run"));
    CHECK(missing == std::multiset<std::string>{});
    CHECK(extra == std::multiset<std::string>{});
    CHECK(rb.status == (orphans.empty() ? 0 : 1));
}

TEST_CASE("rollback: a journal torn at its end by a crash is rolled back, the torn line reported as lost") {
    Host h;
    plant_file(h.ws / "a.txt", "alpha");
    REQUIRE(agent_sh(h, "rm a.txt").status == 0);
    std::string id = only_session(h);
    std::string journal = h.dirs().journal_path(id);
    // What a writer killed mid-line leaves: a fragment with no newline.
    { std::ofstream(journal, std::ios::app) << "{\"seq\":999,\"action\":\"file.unl"; }

    auto plan = h.ctl({"rollback", id, "--dry-run"});
    INFO(plan.out << plan.err);
    CHECK(plan.status == 0);
    CHECK_THAT(plan.out, Catch::Contains("lost") && Catch::Contains("is torn"));
    CHECK_FALSE(path_exists(h.ws / "a.txt"));

    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK_THAT(rb.out, Catch::Contains("journal line torn by a crash: {\"seq\":999"));
    CHECK_THAT(rb.out, !Catch::Contains("dry run"));
    CHECK(*sandboxd::read_file(h.ws / "a.txt") == "alpha");
    // The journal ends on whole lines again, the fragment kept in one.
    auto lines = sandboxd::read_journal(journal);
    REQUIRE(lines.ok());
    bool sealed = false;
    for (const auto& l : *lines)
        sealed |= l.value["action"] == "journal.torn" && l.value["detail"]["fragment"] == "{\"seq\":999,\"action\":\"file.unl";
    CHECK(sealed);
    CHECK(sandboxd::scan_journal(*sandboxd::read_file(journal)).torn_tail.empty());
}

TEST_CASE("rollback: names that are not UTF-8 come back byte for byte") {
    Host h;
    const std::string latin1 = "caf\xe9";                 // "café" in Latin-1
    const std::string odd = std::string("x\xff\x01y", 4);  // an invalid byte and a control character
    // A C1 control (CSI to some terminals) and a right-to-left override:
    // valid UTF-8, inert in --json as \uXXXX (a red-team finding).
    const std::string c1 = "z\xc2\x9b[31m\xe2\x80\xaetxt.exe";
    plant_file(h.ws / latin1, "one");
    plant_file(h.ws / ("dir-" + latin1 + "/inner"), "two");
    plant_file(h.ws / odd, "three");
    plant_file(h.ws / c1, "four");
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h, "rm -r ./caf* ./dir-* ./z* && mv ./x*y moved && echo done");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK_FALSE(path_exists(h.ws / latin1));
    auto plan = h.ctl({"rollback", only_session(h), "--dry-run", "--json"});
    INFO(plan.out << plan.err);
    CHECK(plan.status == 0);
    CHECK(nlohmann::json::parse(plan.out)["steps"].size() >= 5);
    CHECK(plan.out.find("\xc2\x9b") == std::string::npos);
    CHECK(plan.out.find("\xe2\x80\xae") == std::string::npos);
    CHECK_THAT(plan.out, Catch::Contains("\\u009b") && Catch::Contains("\\u202e"));
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(*sandboxd::read_file(h.ws / latin1) == "one");
    CHECK(*sandboxd::read_file(h.ws / ("dir-" + latin1 + "/inner")) == "two");
    CHECK(*sandboxd::read_file(h.ws / odd) == "three");
    CHECK(*sandboxd::read_file(h.ws / c1) == "four");
    CHECK(tree_state(h.ws.path()) == before);
}

TEST_CASE("rollback: the lines of removed directories lost - they are made again for what was in them") {
    Host h;
    plant_file(h.ws / "t/d/f1", "one");
    plant_file(h.ws / "t/d/f2", "two");
    REQUIRE(agent_sh(h, "rm -r t").status == 0);
    std::string id = only_session(h);
    // As if the supervisor died before writing its last lines: the two
    // rmdirs (and what came after them) are gone.
    std::string journal = h.dirs().journal_path(id);
    auto text = *sandboxd::read_file(journal);
    std::istringstream in(text);
    std::string line, kept;
    while (std::getline(in, line)) {
        if (nlohmann::json::parse(line)["action"] == "file.rmdir") break;
        kept += line + "\n";
    }
    REQUIRE(kept.size() < text.size());
    REQUIRE(sandboxd::write_file_atomic(journal, kept, 0600));
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK_THAT(rb.out, Catch::Contains("recreated directory " + h.ws / "t"));
    CHECK(*sandboxd::read_file(h.ws / "t/d/f1") == "one");
    CHECK(*sandboxd::read_file(h.ws / "t/d/f2") == "two");
}

TEST_CASE("prune: sandbox-run prunes expired snapshots by itself - at most once a day") {
    Host h;
    std::string old_id = short_retention_session_removing_a(h);
    std::string old_store = h.state / ("sessions/" + old_id + "/snapshots/00000/000001");
    std::string stamp = h.state / ".last-prune";
    REQUIRE(path_exists(stamp));  // the first session's end looked (nothing had expired yet)
    sleep_ms(1200);
    REQUIRE(agent_sh(h, "rm b").status == 0);  // expired now, but the last look was just now
    sleep_ms(300);
    CHECK(path_exists(old_store));
    // A day later.
    timespec old_times[2] = {{0, UTIME_OMIT}, {::time(nullptr) - 25 * 3600, 0}};
    REQUIRE(::utimensat(AT_FDCWD, stamp.c_str(), old_times, 0) == 0);
    REQUIRE(agent_sh(h, "true").status == 0);
    // The pruner removes the store, then journals it: wait for both.
    auto pruned_line = [&] {
        return sandboxd::read_file(h.dirs().journal_path(old_id))->find("snapshots.pruned") != std::string::npos;
    };
    for (int i = 0; i < 500 && (path_exists(old_store) || !pruned_line()); ++i) sleep_ms(10);
    CHECK_FALSE(path_exists(old_store));
    CHECK_THAT(*sandboxd::read_file(h.dirs().journal_path(old_id)), Catch::Contains("snapshots.pruned"));
    for (const auto& id : list_dir(h.state / "sessions"))
        if (id != old_id && path_exists(h.state / ("sessions/" + id + "/snapshots/00000/000001")))
            CHECK(*sandboxd::read_file(h.state / ("sessions/" + id + "/snapshots/00000/000001")) == "b");
    struct stat st{};
    REQUIRE(::stat(stamp.c_str(), &st) == 0);
    CHECK(st.st_mtime > ::time(nullptr) - 60);
}

TEST_CASE("rollback: of a frozen session right after the freeze - every line is there first, nothing is an orphan") {
    Host h;
    std::multiset<std::string> all;
    for (int i = 0; i < 3000; ++i) {
        std::string name = "f" + std::to_string(i);
        plant_file(h.ws / ("t/" + name), name);
        all.insert(name);
    }
    Background b(h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                             "sh", "-c", "rm -rf " + h.ws / "t" + "; echo removed; sleep 60"}),
                 h.env());
    // Frozen in the middle of the rm -rf, then rolled back at once.
    for (int i = 0; i < 20000 && list_dir(h.ws / "t").size() > 2000; ++i) usleep(200);
    auto s = h.wait_for_session(1);
    REQUIRE(h.ctl({"freeze", s.record.id}).status == 0);
    auto rb = h.ctl({"rollback", s.record.id});
    INFO(rb.out.substr(0, 2000) << rb.err);
    CHECK(rb.status == 0);
    CHECK_THAT(rb.out, !Catch::Contains("orphan"));
    CHECK_THAT(rb.err, !Catch::Contains("has not said"));
    CHECK(contents_below(h.ws / "t") == all);
    REQUIRE(h.ctl({"kill", s.record.id}).status == 0);
}

TEST_CASE("rollback: of a frozen session and again once it ended - the second takes away nothing the first restored") {
    Host h;
    plant_file(h.ws / "big", "precious\n");
    plant_file(h.ws / "dir/inner", "inner\n");
    std::string before = tree_state(h.ws.path());
    Background b(h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                             "sh", "-c", "echo x > big; rm -rf dir; echo done; sleep 60"}),
                 h.env());
    REQUIRE(b.wait_for_output("done", 10000));
    auto s = h.wait_for_session(1);
    REQUIRE(h.ctl({"freeze", s.record.id}).status == 0);
    auto first = h.ctl({"rollback", s.record.id});
    INFO(first.out << first.err);
    REQUIRE(first.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
    // What the first one wrote anew (the old bytes of big, dir) is born
    // before the session's end: the second one's sweep took it for the
    // agent's.
    REQUIRE(h.ctl({"kill", s.record.id}).status == 0);
    b.wait();
    auto second = h.ctl({"rollback", s.record.id});
    INFO(second.out << second.err);
    CHECK(second.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
}

namespace {

// A tmpfs at `dir`, the agent's (unmounted with the returned guard).
Unmount agents_tmpfs(const std::string& dir) {
    REQUIRE(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=16m,mode=0755") == 0);
    REQUIRE(::chown(dir.c_str(), kAgentUid, kAgentGid) == 0);
    return Unmount{dir};
}

// In workspace `ws`, the agent removes DIR/kept (planted here) and makes
// DIR/made and DIR/dir/inside; rollback must bring the one back and take
// the others away, with no error.
void agent_files_rolled_back(const Host& h, const std::string& ws, const std::string& dir) {
    plant_file(dir + "/kept", "original\n");
    auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", ws, "--", "sh", "-c",
                    "cd " + shell_word(dir) + " && rm kept && echo new > made && mkdir dir && echo x > dir/inside"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK_THAT(rb.out, Catch::Contains(" 0 error(s)"));
    CHECK(*sandboxd::read_file(dir + "/kept") == "original\n");
    CHECK_FALSE(path_exists(dir + "/made"));
    CHECK_FALSE(path_exists(dir + "/dir"));
}

}  // namespace

// The workspace on a filesystem of its own (the state directory elsewhere):
// what the agent made could not be moved out of the way (EXDEV), and
// rollback reported it both done and failed, the files left in place. A
// red-team finding. They now go to the session's store on that filesystem.
TEST_CASE("rollback of a workspace on a filesystem of its own takes away what the agent made") {
    Host h;
    TempDir wsd("sandboxd-wsfs", "/var/tmp");
    Unmount unmount = agents_tmpfs(wsd.path());
    agent_files_rolled_back(h, wsd.path(), wsd.path());
}

// A filesystem mounted inside the workspace has no store of the session's
// (the gate keeps a deleted file's copy in the workspace's): rollback could
// not move what the agent made there out of the way either (EXDEV). It now
// makes a store of sandboxd's own at that mount's root.
TEST_CASE("rollback takes away what the agent made on a filesystem mounted inside the workspace") {
    Host h;
    REQUIRE(::mkdir((h.ws / "sub").c_str(), 0755) == 0);
    Unmount unmount = agents_tmpfs(h.ws / "sub");
    agent_files_rolled_back(h, h.ws.path(), h.ws / "sub");
    struct stat st{};
    REQUIRE(::lstat((h.ws / "sub/.sandboxd-snapshots").c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 0777) == 0700);
}
