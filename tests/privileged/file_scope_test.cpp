// The profile's file and exec scopes, enforced by Landlock, attacked from
// inside a real session. The target lives in a directory the agent's own
// uid owns, so file permissions would allow every attack: only the sandbox
// can stop them (the audit-mode control run proves it).
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/file_io.h"
#include "journal/journal.h"
#include "fs_scene.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

bool path_is_under_tmp(const std::string& p) { return p.rfind("/tmp/", 0) == 0; }

const std::vector<std::string> kEscapes = {
    "read_outside",     "write_outside",   "create_outside",   "unlink_outside",     "truncate_outside",
    "symlink_escape",   "symlink_read_escape", "hardlink_in",  "rename_out",         "rename_in",
    "rename_exchange",  "proc_fd_reopen",  "opath_openat",     "openat2_outside",    "proc_root_escape",
    "dotdot_escape",    "mmap_shared_write", "exec_copied_binary", "ldso_copied_binary", "chmod_outside",
    "chown_outside",    "utimensat_outside", "setxattr_outside", "mkfifo_outside",    "cgroup_procs",
    "exec_outside_binary", "ldso_outside_binary", "mmap_exec_outside", "mmap_exec_workspace", "ldso_memfd",
    "mmap_exec_memfd"};

}  // namespace

TEST_CASE("file scope: what the workspace profile allows works") {
    Scene s;
    auto r = s.probe({"--profile", s.h.workspace_profile},
                     {"read_system", "create_in_workspace", "append_in_workspace", "truncate_in_workspace",
                      "unlink_in_workspace", "mkdir_in_workspace", "exec_system"});
    for (const auto& [name, result] : r) {
        INFO(name);
        CHECK(result == "ok");
    }
    CHECK(r.size() == 7);
    CHECK_FALSE(path_exists(s.h.ws / "victim.txt"));
}

TEST_CASE("file scope: every escape attempt fails and the target is untouched") {
    Scene s;
    auto r = s.probe({"--profile", s.h.workspace_profile}, kEscapes);
    for (const auto& e : kEscapes) {
        INFO(e);
        CHECK(r[e] != "ok");
        // EACCES from Landlock, EXDEV for links and renames across its
        // domains, EROFS from the read-only view of everything outside the
        // write trees: each is the sandbox saying no.
        // openat2 says ENOSYS under the snapshot gate (its flags are out of
        // the filter's sight) and callers fall back to openat; so does
        // memfd_create (callers fall back to a file in /dev/shm, noexec).
        bool enosys_ok = e == "openat2_outside" || e == "ldso_memfd" || e == "mmap_exec_memfd";
        CHECK((r[e] == "errno=EACCES" || r[e] == "errno=EXDEV" || r[e] == "errno=EPERM" || r[e] == "errno=EROFS" ||
               (enosys_ok && r[e] == "errno=ENOSYS")));
    }
    CHECK(s.secret() == "secret");
    struct stat st{};
    REQUIRE(stat((s.outside / "secret.txt").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    CHECK_FALSE(path_exists(s.outside / "planted.txt"));
    CHECK_FALSE(path_exists(s.outside / "fifo"));
    CHECK_FALSE(path_exists(s.h.ws / "hard-in"));
    CHECK(*sandboxd::read_file(s.h.ws / "existing.txt") == "old");
}

TEST_CASE("file scope control: without Landlock (audit mode) the same attacks land") {
    Scene s;
    auto r = s.probe({"--profile", s.h.workspace_profile, "--audit"},
                     {"read_outside", "write_outside", "proc_fd_reopen", "exec_copied_binary", "symlink_escape",
                      "ldso_outside_binary", "mmap_exec_outside"});
    CHECK(r["read_outside"] == "ok");
    CHECK(r["write_outside"] == "ok");
    CHECK(r["proc_fd_reopen"] == "ok");
    CHECK(r["exec_copied_binary"] == "ok");
    CHECK(r["ldso_outside_binary"] == "ok");
    CHECK(r["mmap_exec_outside"] == "ok");
    CHECK(s.secret() != "secret");
}

// Landlock's EXECUTE right is checked by execve() only: the dynamic loader
// maps a binary (or a library) with mmap(PROT_EXEC), which it never sees.
TEST_CASE("exec scope: a binary the agent may read but not execute runs neither by exec nor through ld.so nor mapped executable") {
    Scene s;
    const std::string tc = TESTCASES_DIR;
    std::string p = s.h.profile(
        "read-outside",
        "name='read-outside'\nextends='workspace-t'\n[filesystem]\n"
        "read = ['/usr', '/etc', '-/bin', '-/sbin', '-/lib', '-/lib64', '/dev', '/proc', '${WORKSPACE}', '" + tc +
            "', '" + s.outside.path() + "']\n");
    auto r = s.probe({"--profile", p}, {"read_outside", "exec_system", "exec_outside_binary", "ldso_outside_binary",
                                        "mmap_exec_outside", "mmap_exec_workspace"});
    CHECK(r["read_outside"] == "ok");
    CHECK(r["exec_system"] == "ok");  // which maps libc from an exec tree
    CHECK(r["exec_outside_binary"] == "errno=EACCES");
    CHECK(r["ldso_outside_binary"] == "errno=EACCES");  // ld.so could not map it
    CHECK(r["mmap_exec_outside"] == "errno=EPERM");
    CHECK(r["mmap_exec_workspace"] == "errno=EPERM");
}

// exec.allow naming /tmp (or /) names the host's /tmp, which the session
// does not see. Its own /tmp and /dev/shm, writable by the agent, were made
// mappable all the same when the exec trees were bound onto themselves
// after they were mounted: ld.so then ran what the agent wrote there.
TEST_CASE("exec scope: an exec tree holding /tmp leaves the session's own /tmp and /dev/shm noexec") {
    Host h;
    const std::string tc = TESTCASES_DIR;
    std::string p = h.profile("exec-tmp", "name='exec-tmp'\nextends='workspace-t'\n[exec]\n"
                                          "allow = ['/usr', '-/bin', '-/lib', '-/lib64', '" + tc + "', '/tmp']\n");
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "for d in /tmp /dev/shm; do cp /usr/bin/true $d/t && "
                    "{ /lib64/ld-linux-x86-64.so.2 $d/t 2>/dev/null && echo $d mapped || echo $d refused; }; done"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "/tmp refused\n/dev/shm refused\n");
    auto e = h.run({"--explain", "--user", kAgentUser, "--profile", p, "--workspace", h.ws.path()});
    CHECK(e.out.find("the session's own /tmp") != std::string::npos);
}

// Exec trees are made executable before the session's own /tmp is
// mounted, so that naming /tmp does not make it executable; those inside
// trees carried into it must be made executable again after. A workspace
// in /tmp (carried, noexec) with an exec tree inside it ran nothing there
// for a commit (CI found it: its checkout, and the test programs, were
// under /tmp).
TEST_CASE("exec scope: an exec tree inside a read-only workspace carried into the session's /tmp runs - the rest of it does not") {
    Host h;  // its workspace is in /tmp
    REQUIRE(path_is_under_tmp(h.ws.path()));
    plant_file(h.ws / "bin/tool", *sandboxd::read_file("/usr/bin/true"), 0755);
    plant_file(h.ws / "tool", *sandboxd::read_file("/usr/bin/true"), 0755);
    const std::string tc = TESTCASES_DIR;
    // Read-only: the workspace is carried in as it is, not as a write tree.
    std::string p = h.profile("ws-bin", "name='ws-bin'\nextends='readonly-t'\n[exec]\n"
                                        "allow = ['/usr', '-/bin', '-/lib', '-/lib64', '" + tc + "', '${WORKSPACE}/bin']\n");
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "./bin/tool && echo ran; ./tool 2>/dev/null || echo refused"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "ran\nrefused\n");
}

// A descriptor keeps the mount it was opened through: a stream
// sandbox-run got as a host file would reach the agent on the host's
// (executable) mount, and `ld.so /proc/self/fd/N` would run what the agent
// wrote there. A red-team finding.
TEST_CASE("standard streams that are host files reach the agent as pipes - ld.so cannot run them, and what flows through arrives whole and in order") {
    Host h;
    std::string log = h.ws / "agent.log";
    auto r = h.run_redirected({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                               "sh", "-c",
                               "cat /bin/true; /lib64/ld-linux-x86-64.so.2 /proc/self/fd/3 --version 3>&1 >/dev/null "
                               "2>/dev/null; echo ldso=$? >&2; readlink /proc/self/fd/2 >&2"},
                              "> " + shell_word(log) + " 2> " + shell_word(h.ws / "err.log"));
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    std::string err = *sandboxd::read_file(h.ws / "err.log");
    CHECK_THAT(err, Catch::Contains("ldso=127"));
    CHECK_THAT(err, Catch::Contains("pipe:"));
    CHECK(*sandboxd::read_file(log) == *sandboxd::read_file("/bin/true"));

    // stdin: the same.
    auto in = h.run_redirected({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                                "sh", "-c", "/lib64/ld-linux-x86-64.so.2 /proc/self/fd/0 2>/dev/null; echo ldso=$?"},
                               "< /bin/true");
    CHECK_THAT(in.out, Catch::Contains("ldso=127"));

    // 2>&1 keeps the order the agent wrote in; a megabyte of stdin comes through whole.
    auto both = h.run_redirected({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                                  "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do echo out$i; echo err$i >&2; done"},
                                 "> " + shell_word(h.ws / "both.log") + " 2>&1");
    CHECK(both.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "both.log") ==
          "out1\nerr1\nout2\nerr2\nout3\nerr3\nout4\nerr4\nout5\nerr5\nout6\nerr6\nout7\nerr7\nout8\nerr8\n");
    std::string big;
    for (uint32_t i = 0; i < (1u << 20); ++i) big.push_back(char('a' + (i * 7919u) % 26u));
    REQUIRE(sandboxd::write_file_atomic(h.ws / "in.txt", big, 0644));
    auto copy = h.run_redirected({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                                  "cat"},
                                 "< " + shell_word(h.ws / "in.txt") + " > " + shell_word(h.ws / "out.txt"));
    CHECK(copy.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "out.txt") == big);
    // An agent that stops reading early still ends (no SIGPIPE for sandbox-run).
    auto head = h.run_redirected({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                                  "head", "-c", "10"},
                                 "< " + shell_word(h.ws / "in.txt"));
    CHECK(head.status == 0);
    CHECK(head.out == big.substr(0, 10));

    // What the agent did not read stays for whoever reads the file next.
    REQUIRE(sandboxd::write_file_atomic(h.ws / "list.txt", "a\nb\nc\n", 0644));
    std::string one_session;
    for (const auto& a : h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace",
                                     h.ws.path(), "--", "sh", "-c", "read x; echo got=$x"}))
        one_session += shell_word(a) + " ";
    auto loop = run({"/bin/sh", "-c", "while read f; do echo line=$f; " + one_session + "; done < " +
                                          shell_word(h.ws / "list.txt")},
                    h.env());
    CHECK(loop.out == "line=a\ngot=b\nline=c\ngot=\n");

    // Closed streams are /dev/null for the agent, never a descriptor
    // sandbox-run opened for itself (a cgroup's tasks file took number 2).
    auto closed = h.run_redirected({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(),
                                    "--", "sh", "-c",
                                    "readlink /proc/self/fd/0 /proc/self/fd/2 > " + h.ws / "fds.txt"},
                                   "<&- >&- 2>&-");
    CHECK(closed.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "fds.txt") == "/dev/null\n/dev/null\n");
}

TEST_CASE("a single file under /tmp in a scope is carried into the session's own /tmp - readable, and not executable") {
    Host h;
    TempDir dir("sandboxd-tmpfile", "/tmp");
    REQUIRE(chmod(dir.path().c_str(), 0755) == 0);
    dir.write("note.txt", "carried\n");
    REQUIRE(chmod((dir / "note.txt").c_str(), 0644) == 0);
    const std::string tc = TESTCASES_DIR;
    std::string p = h.profile(
        "tmp-file",
        "name='tmp-file'\nextends='workspace-t'\n[filesystem]\n"
        "read = ['/usr', '/etc', '-/bin', '-/sbin', '-/lib', '-/lib64', '/dev', '/proc', '${WORKSPACE}', '" + tc +
            "', '" + dir / "note.txt" + "']\n");
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "cat " + dir / "note.txt" + "; ls " + dir.path() + "; echo x > " + dir / "note.txt" + " || echo refused"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    // Only the file: nothing else of its directory came along.
    CHECK(r.out == "carried\nnote.txt\nrefused\n");
}

// /tmp is everyone's: an entry there belongs to whoever made it, who may
// swap it for a symbolic link at any time. A scope named through another
// user's link was theirs to point; one through the caller's own link to /
// was carried as a copy of the whole host tree, taken before the hidden
// paths were covered, bringing the host's /tmp and hidden files back in
// under its name. A red-team finding.
TEST_CASE("scope paths in /tmp: another user's link is refused, a link out of /tmp is not carried") {
    Host h;
    TempDir dir("sandboxd-tmplink", "/tmp");
    REQUIRE(chmod(dir.path().c_str(), 01777) == 0);
    TempDir hidden_host("sandboxd-hidden", "/var/tmp");
    hidden_host.write("secret", "host secret\n");
    REQUIRE(chmod(hidden_host.path().c_str(), 0755) == 0);
    REQUIRE(chmod((hidden_host / "secret").c_str(), 0644) == 0);
    const std::string link = dir / "link";
    REQUIRE(symlink("/", link.c_str()) == 0);
    const std::string tc = TESTCASES_DIR;
    std::string p = h.profile("tmp-link",
                              "name='tmp-link'\nextends='workspace-t'\n[filesystem]\n"
                              "read = ['/usr', '/etc', '-/bin', '-/sbin', '-/lib', '-/lib64', '/dev', '/proc', "
                              "'${WORKSPACE}', '" + tc + "', '" + link + "']\nhide = ['" + hidden_host.path() + "']\n");
    std::string probe = "cat " + hidden_host / "secret" + " 2>/dev/null; cat " + link + hidden_host / "secret" +
                        " 2>/dev/null; ls " + link + "/etc/hostname 2>/dev/null; echo end";

    SECTION("another user's link: the session is refused, naming it") {
        REQUIRE(lchown(link.c_str(), 12345, 12345) == 0);
        auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "true"});
        CHECK(r.status == 125);
        CHECK(r.err.find(link + " is a symbolic link of uid 12345") != std::string::npos);
        CHECK(r.err.find("cannot be trusted") != std::string::npos);
        // The same for a workspace reached through one.
        const std::string ws_link = dir / "ws";
        REQUIRE(symlink(h.ws.path().c_str(), ws_link.c_str()) == 0);
        REQUIRE(lchown(ws_link.c_str(), 12345, 12345) == 0);
        auto w = h.run({"--user", kAgentUser, "--workspace", ws_link, "--", "true"});
        CHECK(w.status == 125);
        CHECK(w.err.find("workspace " + ws_link + " cannot be trusted") != std::string::npos);
        auto e = h.run({"--explain", "--user", kAgentUser, "--workspace", ws_link});
        CHECK(e.status == 125);
        CHECK(e.err.find("workspace " + ws_link + " cannot be trusted") != std::string::npos);
    }
    SECTION("a workspace in a directory anyone may write to, or another member's link in a group's sticky one") {
        TempDir ww("sandboxd-ww", "/var/tmp");
        REQUIRE(chmod(ww.path().c_str(), 0777) == 0);  // no sticky bit: anyone may swap what is in it
        REQUIRE(mkdir((ww / "proj").c_str(), 0755) == 0);
        auto open_dir = h.run({"--user", kAgentUser, "--workspace", ww / "proj", "--", "true"});
        CHECK(open_dir.status == 125);
        CHECK_THAT(open_dir.err, Catch::Contains("which anyone may write to (mode 0777, no sticky bit)"));
        TempDir shared("sandboxd-shared", "/var/tmp");
        REQUIRE(chown(shared.path().c_str(), 0, 54321) == 0);  // a group that is none of ours
        REQUIRE(chmod(shared.path().c_str(), 03775) == 0);
        REQUIRE(symlink(h.ws.path().c_str(), (shared / "proj").c_str()) == 0);
        REQUIRE(lchown((shared / "proj").c_str(), 12345, 54321) == 0);
        auto group_dir = h.run({"--user", kAgentUser, "--workspace", shared / "proj", "--", "true"});
        CHECK(group_dir.status == 125);
        CHECK_THAT(group_dir.err, Catch::Contains("is a symbolic link of uid 12345"));
    }
    SECTION("a sticky directory anyone may write to that another user owns: they may replace anything in it") {
        TempDir base("sandboxd-base", "/var/tmp");  // root's, 0700: nobody else's to change
        const std::string pub = base / "pub";
        REQUIRE(mkdir(pub.c_str(), 0755) == 0);
        REQUIRE(chown(pub.c_str(), 12345, 12345) == 0);
        REQUIRE(chmod(pub.c_str(), 01777) == 0);
        REQUIRE(mkdir((pub + "/ws").c_str(), 0755) == 0);  // root's own, in it
        auto r = h.run({"--user", kAgentUser, "--workspace", pub + "/ws", "--", "true"});
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains("and uid 12345 owns"));
    }
    SECTION("the caller's own link to a directory in /tmp names a write tree: carried where it leads, writable") {
        const std::string real = dir / "real";
        REQUIRE(mkdir(real.c_str(), 0777) == 0);
        REQUIRE(chmod(real.c_str(), 0777) == 0);
        const std::string named = dir / "named";
        REQUIRE(symlink(real.c_str(), named.c_str()) == 0);
        std::string w = h.profile("tmp-write", "name='tmp-write'\nextends='workspace-t'\n[filesystem]\n"
                                               "write = ['${WORKSPACE}', '" + named + "']\n");
        auto r = h.run({"--user", kAgentUser, "--profile", w, "--workspace", h.ws.path(), "--", "sh", "-c",
                        "echo x > " + real + "/made && echo wrote"});
        INFO(r.out << r.err);
        CHECK(r.out == "wrote\n");
        CHECK(path_exists(real + "/made"));
    }
    SECTION("the caller's own link to /: runs, and brings no copy of the host tree in") {
        auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c", probe});
        INFO(r.out << r.err);
        CHECK(r.status == 0);
        CHECK(r.out == "end\n");
    }
}

// An agent may make a symbolic link wherever it may write, leading
// anywhere. A later session whose scope or workspace is named through it
// would get the link's target instead: one session could widen the next
// one's scope, to the user's documents or keys. A link of the agent's own
// user is refused on the way to a scope or a workspace, also at a path the
// profile protects; root's is followed where the agent could not have put
// it.
TEST_CASE("a link an earlier session's agent made does not widen a later session's scope") {
    Host h;
    TempDir docs("sandboxd-docs", "/var/tmp");  // the user's own files, which the agent's uid may write
    REQUIRE(chown(docs.path().c_str(), kAgentUid, kAgentGid) == 0);
    docs.write("letter.txt", "dear\n");
    REQUIRE(chown((docs / "letter.txt").c_str(), kAgentUid, kAgentGid) == 0);
    const std::string out = h.ws / "out";
    auto plant = agent_sh(h, "ln -s " + shell_word(docs.path()) + " " + shell_word(out));
    INFO(plant.out << plant.err);
    REQUIRE(plant.status == 0);
    struct stat link{};
    REQUIRE(lstat(out.c_str(), &link) == 0);
    REQUIRE(S_ISLNK(link.st_mode));
    REQUIRE(link.st_uid == kAgentUid);
    const std::string write_out = h.profile(
        "write-out", "name='write-out'\nextends='workspace-t'\n[filesystem]\nwrite = ['${WORKSPACE}/out']\ndestroy = []\n");
    // By the link's target: the name the scope would have in the session.
    const std::string attack = "echo pwned > " + shell_word(docs / "pwned") + "; rm -f " + shell_word(docs / "letter.txt") + "; true";

    SECTION("a write tree through it: refused, naming the link and where it leads") {
        auto r = h.run({"--user", kAgentUser, "--profile", write_out, "--workspace", h.ws.path(), "--", "sh", "-c", attack});
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains(out + " is a symbolic link of uid 4242, the agent's user"));
        CHECK_THAT(r.err, Catch::Contains(docs.path()));
        CHECK_FALSE(path_exists(docs / "pwned"));
        CHECK(path_exists(docs / "letter.txt"));
    }
    SECTION("an optional read tree through it: refused too, not skipped nor followed") {
        std::string p = h.profile("read-out", "name='read-out'\nextends='readonly-t'\n[filesystem]\n"
                                              "read = ['/usr', '/etc', '-/bin', '-/sbin', '-/lib', '-/lib64', '/dev', '/proc', "
                                              "'-${WORKSPACE}/out']\n");
        auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "cat", docs / "letter.txt"});
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, Catch::Contains("symbolic link of uid 4242"));
    }
    SECTION("a workspace through it: refused, before anything runs") {
        auto r = h.run({"--user", kAgentUser, "--workspace", out, "--", "sh", "-c", attack});
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains("workspace " + out + " cannot be trusted"));
        CHECK_FALSE(path_exists(docs / "pwned"));
        CHECK(path_exists(docs / "letter.txt"));
        auto e = h.run({"--explain", "--user", kAgentUser, "--workspace", out});
        CHECK(e.status == 125);
        CHECK_THAT(e.err, Catch::Contains("symbolic link of uid 4242"));
    }
    // Another profile's session, which does not protect the path, could
    // have made it (helper 42: ~/.rustup, protected by workspace, read and
    // executed by coding-agent, led to the whole home).
    SECTION("the same link, at a path the profile protects: refused all the same") {
        std::string p = h.profile("protect-out", "name='protect-out'\nextends='workspace-t'\n[filesystem]\n"
                                                 "write = ['${WORKSPACE}/out']\ndestroy = []\nprotect = ['${WORKSPACE}/out']\n");
        auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c",
                        "cat " + shell_word(out + "/letter.txt")});
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains(out + " is a symbolic link of uid 4242, the agent's user"));
        CHECK(r.out.empty());
    }
    SECTION("a link whose target holds escape sequences and a line of its own: named inert") {
        // Its target is the agent's to choose, and the refusal names it.
        REQUIRE(unlink(out.c_str()) == 0);
        const std::string target = "/x\x1b]2;PWNED\x07\x1b[2J\nsandbox-run: forged line";
        REQUIRE(symlink(target.c_str(), out.c_str()) == 0);
        REQUIRE(lchown(out.c_str(), kAgentUid, kAgentGid) == 0);
        std::string p = h.profile("read-odd", "name='read-odd'\nextends='readonly-t'\n[filesystem]\n"
                                              "read = ['/usr', '/etc', '-${WORKSPACE}/out/y']\n");
        auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "true"});
        INFO(r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains("symbolic link of uid 4242"));
        CHECK(r.err.find('\x1b') == std::string::npos);
        CHECK(r.err.find("\nsandbox-run: forged") == std::string::npos);
        CHECK_THAT(r.err, Catch::Contains("\\x1b]2;PWNED"));
    }
    // Anyone's link the agent could have put where it is, by moving it or
    // a directory above it (helper 40: a root's relative link, moved up
    // two levels by the agent, led a later workspace out of the tree).
    SECTION("root's link below the workspace: refused, the agent could have moved it there") {
        REQUIRE(lchown(out.c_str(), 0, 0) == 0);
        auto r = h.run({"--user", kAgentUser, "--profile", write_out, "--workspace", h.ws.path(), "--", "sh", "-c", attack});
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains(out + " is a symbolic link (to " + docs.path() + ") below a directory the agent"));
        CHECK_FALSE(path_exists(docs / "pwned"));
        CHECK(path_exists(docs / "letter.txt"));
    }
    SECTION("a root's relative link the agent moved up: a later workspace through it is refused") {
        REQUIRE(unlink(out.c_str()) == 0);
        // ws/a/b/docs -> ../../inner: the user's link, inside the tree.
        REQUIRE(sandboxd::make_dirs(h.ws / "a/b", 0755).ok());
        REQUIRE(sandboxd::make_dirs(h.ws / "inner", 0755).ok());
        REQUIRE(symlink("../../inner", (h.ws / "a/b/docs").c_str()) == 0);
        for (const char* d : {"a", "a/b"}) REQUIRE(chown((h.ws / d).c_str(), kAgentUid, kAgentGid) == 0);
        auto move = agent_sh(h, "mv a/b/docs proj");  // now ws/proj -> ../../inner: outside
        REQUIRE(move.status == 0);
        auto r = h.run({"--user", kAgentUser, "--workspace", h.ws / "proj", "--", "sh", "-c", "echo pwned > pwned"});
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains("below a directory the agent may write to"));
    }
    SECTION("root's link where the agent cannot move it: followed") {
        TempDir system("sandboxd-sys", "/var/tmp");  // root's, 0700 -> 0755
        REQUIRE(chmod(system.path().c_str(), 0755) == 0);
        REQUIRE(symlink(docs.path().c_str(), (system / "out").c_str()) == 0);
        std::string p = h.profile("write-sys", "name='write-sys'\nextends='workspace-t'\n[filesystem]\nwrite = ['" +
                                                   system.path() + "/out']\ndestroy = []\n");
        auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c",
                        "echo mine > " + shell_word(docs / "new")});
        INFO(r.out << r.err);
        CHECK(r.status == 0);
        CHECK(*sandboxd::read_file(docs / "new") == "mine\n");
    }
}

// The same link, in place only while a later session starts: a session
// still running on a directory above keeps exchanging the later one's
// workspace with a link of its own. The check of the path and each later
// open of it (realpath, the Landlock rules, the mounts) were lookups of
// their own, and a start whose check saw the directory and whose opens saw
// the link was given the link's target (9 of 200 starts in a red-team
// run). The path is now judged and resolved in one walk and opened later
// with no link followed: a start caught in the swap is refused.
TEST_CASE("a running session swapping a later session's workspace for its link gives that session nothing beyond") {
    Host h;
    TempDir outer("sandboxd-outer", "/var/tmp");  // not /tmp: the write tree is then a bind mount of its own
    REQUIRE(chown(outer.path().c_str(), kAgentUid, kAgentGid) == 0);
    REQUIRE(mkdir((outer / "ws").c_str(), 0755) == 0);
    REQUIRE(chown((outer / "ws").c_str(), kAgentUid, kAgentGid) == 0);
    TempDir docs("sandboxd-docs", "/var/tmp");
    REQUIRE(chown(docs.path().c_str(), kAgentUid, kAgentGid) == 0);
    docs.write("secret.txt", "the user's own\n");
    REQUIRE(chown((docs / "secret.txt").c_str(), kAgentUid, kAgentGid) == 0);
    Background s1(h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", outer.path(), "--",
                              testcase("swap_flip"), outer.path(), docs.path(), "25"}),
                  h.env());
    const std::string probe = "cat " + shell_word(docs / "secret.txt") + " 2>/dev/null; echo x > " +
                              shell_word(docs / "pwned") + " 2>/dev/null; echo ran";
    int ran = 0, refused = 0, leaked = 0;
    for (int i = 0; i < 150; ++i) {
        auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", outer / "ws", "--", "sh",
                        "-c", probe});
        if (r.out.find("the user's own") != std::string::npos || path_exists(docs / "pwned")) {
            ++leaked;
            UNSCOPED_INFO("start " << i << ": " << r.out << r.err);
            ::unlink((docs / "pwned").c_str());
        }
        if (r.status == 0) ++ran;
        else ++refused;
    }
    auto flips = s1.wait(60000);
    INFO(flips.out << flips.err << "\nran " << ran << ", refused " << refused);
    REQUIRE(flips.status == 0);  // the swap went on throughout
    CHECK(leaked == 0);
    // The swapping over, the same start runs (and still reaches nothing).
    auto after = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", outer / "ws", "--", "sh",
                        "-c", probe});
    INFO(after.out << after.err);
    CHECK(after.status == 0);
    CHECK(after.out == "ran\n");
    CHECK_FALSE(path_exists(docs / "pwned"));
}

// The session's mounts are copies of the host's taken at its start. As
// slaves they would also receive what the host mounts later, writable and
// executable, outside the read-only, noexec view (autofs, a USB stick).
// Streams that cannot be mapped (terminals, FIFOs) are passed on as they
// are, on the host's mount: changing them through the descriptor would
// change a host object outside the write trees. A red-team finding.
TEST_CASE("a FIFO handed in as stdout cannot be chmod-ed or chown-ed through the descriptor") {
    Host h;
    TempDir dir("sandboxd-fifo", "/var/tmp");
    REQUIRE(chown(dir.path().c_str(), kAgentUid, kAgentGid) == 0);
    std::string fifo = dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    REQUIRE(chown(fifo.c_str(), kAgentUid, kAgentGid) == 0);
    Background reader({"/bin/cat", fifo}, {});
    auto r = h.run_redirected({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                               "python3", "-c",
                               "import os\nout = []\nfor f in (lambda: os.fchmod(1, 0o666), lambda: os.fchown(1, -1, -1)):\n"
                               "    try:\n        f(); out.append('changed')\n"
                               "    except OSError as e:\n        out.append(os.strerror(e.errno))\n"
                               "open('res.txt', 'w').write(','.join(out))\n"},
                              "> " + shell_word(fifo));
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "res.txt") == "Read-only file system,Read-only file system");
    struct stat st{};
    REQUIRE(::stat(fifo.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("files with no name (memfd, O_TMPFILE) can be resized and chmod-ed through their descriptor") {
    Host h;
    // memfd_create is refused unless the profile allows it (ENOSYS: the
    // loader would map a memfd as code outside every exec tree).
    auto no = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--", "python3",
                     "-c", "import os, errno\ntry: os.memfd_create('x')\nexcept OSError as e: print(errno.errorcode[e.errno])\n"});
    INFO(no.out << no.err);
    CHECK(no.out == "ENOSYS\n");
    std::string p = h.profile("memfd", "name = 'memfd'\nextends = '" + h.workspace_profile + "'\n[syscalls]\nallow = ['@memfd']\n");
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--",
                    "python3", "-c",
                    "import os\n"
                    "m = os.memfd_create('x'); os.ftruncate(m, 65536); os.ftruncate(m, 10); os.fchmod(m, 0o600)\n"
                    "t = os.open('.', os.O_TMPFILE | os.O_RDWR, 0o644); os.write(t, b'x' * 100); os.ftruncate(t, 5000)\n"
                    "os.ftruncate(t, 3); os.fchmod(t, 0o600)\n"
                    "print(os.fstat(m).st_size, os.fstat(t).st_size)\n"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "10 3\n");
}

TEST_CASE("mounts the host makes after the session started do not reach it") {
    Host h;
    REQUIRE(::mkdir((h.ws / "sub").c_str(), 0755) == 0);
    std::string session;
    for (const auto& a : h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(),
                                     "--", "sh", "-c",
                                     "touch started; while [ ! -e ready ]; do sleep 0.05; done; ls sub; echo listed"}))
        session += shell_word(a) + " ";
    // In a mount namespace of its own whose mounts propagate (as on a host
    // under systemd, where / is shared): this machine's / is private.
    std::string sub = shell_word(h.ws / "sub");
    auto r = run({"/usr/bin/unshare", "-m", "/bin/sh", "-c",
                  "mount --make-rshared / && { " + session + " & } && while [ ! -e " + shell_word(h.ws / "started") +
                      " ]; do sleep 0.05; done && mount -t tmpfs tmpfs " + sub +
                      " && touch " + sub + "/from-host && touch " + shell_word(h.ws / "ready") + " && wait"},
                 h.env());
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "listed\n");  // the tmpfs and its file are not there
}

TEST_CASE("write without destroy: new files yes / overwriting or deleting existing ones no") {
    Scene s;
    std::string p = s.h.profile("nodestroy",
                                "name='nodestroy'\nextends='workspace-t'\n[filesystem]\ndestroy=[]\n");
    auto r = s.probe({"--profile", p}, {"create_in_workspace", "append_in_workspace", "truncate_in_workspace",
                                        "unlink_in_workspace"});
    CHECK(r["create_in_workspace"] == "ok");
    CHECK(r["append_in_workspace"] == "ok");
    CHECK(r["truncate_in_workspace"] == "errno=EACCES");
    CHECK(r["unlink_in_workspace"] == "errno=EACCES");
    CHECK(path_exists(s.h.ws / "victim.txt"));
}

TEST_CASE("readonly profile: nothing in the workspace can be changed") {
    Scene s;
    auto r = s.probe({"--profile", s.h.readonly_profile}, {"read_system", "create_in_workspace", "unlink_in_workspace"});
    CHECK(r["read_system"] == "ok");
    // EROFS when the workspace sits in /tmp and is carried read-only into
    // the session's private /tmp, EACCES from Landlock elsewhere.
    CHECK((r["create_in_workspace"] == "errno=EACCES" || r["create_in_workspace"] == "errno=EROFS"));
    CHECK((r["unlink_in_workspace"] == "errno=EACCES" || r["unlink_in_workspace"] == "errno=EROFS"));
    CHECK(path_exists(s.h.ws / "victim.txt"));
}

TEST_CASE("a process outside the session is unaffected by its rules") {
    Scene s;
    Background b(s.h.run_argv({"--user", kAgentUser, "--profile", "readonly", "--", "sleep", "30"}), s.h.env());
    s.h.wait_for_session(1);
    // As the same uid, outside any session: the write the session forbids works.
    auto r = run({"/usr/bin/setpriv", "--reuid=4242", "--regid=4343", "--clear-groups", "/bin/sh", "-c",
                  "echo host >> " + s.outside / "secret.txt"});
    CHECK(r.status == 0);
    CHECK(s.secret() == "secrethost\n");
    REQUIRE(s.h.ctl({"kill", "--all"}).status == 0);
}

TEST_CASE("two concurrent sessions with different profiles keep their own rules") {
    Scene s;
    std::string marker = s.h.ws / "go";
    // A readonly session and a workspace session, alive at the same time.
    Background ro(s.h.run_argv({"--user", kAgentUser, "--profile", "readonly", "--workspace", s.h.ws.path(), "--",
                                "sh", "-c", "while [ ! -e go ]; do sleep 0.02; done; echo x > ro.txt; echo ro=$?"}),
                  s.h.env());
    Background rw(s.h.run_argv({"--user", kAgentUser, "--profile", "workspace", "--workspace", s.h.ws.path(), "--",
                                "sh", "-c", "while [ ! -e go ]; do sleep 0.02; done; echo x > rw.txt; echo rw=$?"}),
                  s.h.env());
    for (int i = 0; i < 500 && s.h.sessions().size() < 2; ++i) sleep_ms(10);
    s.plant(marker, "");
    auto a = ro.wait(10000), b = rw.wait(10000);
    CHECK_THAT(a.out, Catch::Contains("ro="));
    CHECK_THAT(a.out, !Catch::Contains("ro=0"));
    CHECK_THAT(b.out, Catch::Contains("rw=0"));
    CHECK_FALSE(path_exists(s.h.ws / "ro.txt"));
    CHECK(path_exists(s.h.ws / "rw.txt"));
}

// A watch reports the names in a directory and what happens to its files,
// and Landlock sees no open in inotify_add_watch(): an agent listed a
// directory outside its read scope by its events, and saw the user read
// the files in it (a red-team finding). The gate adds watches only on what
// the agent may read, and journals the refusals.
TEST_CASE("inotify: no watch on what the agent may not read - its workspace's watches work") {
    Scene s;
    const std::string script =
        "import ctypes, os, errno\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "fd = libc.inotify_init1(0)\n"
        "def watch(p, mask=0xfff):\n"
        "    wd = libc.inotify_add_watch(fd, p.encode(), mask)\n"
        "    return str(wd) if wd >= 0 else errno.errorcode[ctypes.get_errno()]\n"
        "out = '" + s.outside.path() + "'\n"
        "print(watch(out), watch(out + '/secret.txt'), watch(out + '/nothing'), watch(out, 0x1000fff))\n"
        "print(watch('.'), watch('existing.txt'), watch('existing.txt', 0x1000fff))\n"
        "open('new.txt', 'w').close()\n"
        "print('event' if len(os.read(fd, 4096)) >= 16 else 'none')\n";
    auto r = s.h.run({"--user", kAgentUser, "--profile", s.h.workspace_profile, "--workspace", s.h.ws.path(), "--",
                      "python3", "-c", script});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    // Outside: refused (EACCES); a missing name, as the kernel says;
    // IN_ONLYDIR on a file, as the kernel says. Inside: watches 1 and 2.
    CHECK(r.out == "EACCES EACCES ENOENT EACCES\n1 2 ENOTDIR\nevent\n");
    auto lines = sandboxd::read_journal(s.h.dirs().journal_path(only_session(s.h)));
    REQUIRE(lines.ok());
    int refused = 0;
    for (const auto& l : *lines)
        if (l.value.value("action", "") == "file.watch" && l.value.value("decision", "") == "deny" &&
            l.value.value("rule", "") == "filesystem.read")
            ++refused;
    CHECK(refused == 3);
    // Control: audit mode watches (and says it would not).
    auto audit = s.h.run({"--user", kAgentUser, "--profile", s.h.workspace_profile, "--workspace", s.h.ws.path(),
                          "--audit", "--", "python3", "-c", script});
    INFO(audit.out << audit.err);
    CHECK(audit.out == "1 2 ENOENT 1\n3 4 ENOTDIR\nevent\n");  // the same directory twice: its watch again
}

TEST_CASE("exec from memory: a memfd cannot be executed") {
    Scene s;
    auto control = s.probe({"--profile", s.h.workspace_profile, "--audit"}, {"exec_system"});
    REQUIRE(control["exec_system"] == "ok");
    auto r = s.probe({"--profile", s.h.workspace_profile}, {"exec_memfd", "ldso_memfd", "mmap_exec_memfd", "exec_system"});
    CHECK(r["exec_memfd"] != "ok");
    CHECK(r["ldso_memfd"] == "errno=ENOSYS");
    CHECK(r["mmap_exec_memfd"] == "errno=ENOSYS");
    CHECK(r["exec_system"] == "ok");
    // Control: a profile that allows memfd_create. vm.memfd_noexec still
    // stops execve() of one, but the dynamic loader maps it as code: what
    // the refusal above closes (a red-team finding).
    std::string p = s.h.profile("memfd", "name = 'memfd'\nextends = '" + s.h.workspace_profile +
                                             "'\n[syscalls]\nallow = ['@memfd']\n");
    auto allowed = s.probe({"--profile", p}, {"exec_memfd", "ldso_memfd", "mmap_exec_memfd"});
    CHECK(allowed["exec_memfd"] != "ok");
    CHECK(allowed["ldso_memfd"] == "ok");
    CHECK(allowed["mmap_exec_memfd"] == "ok");
}

TEST_CASE("the session's /tmp is its own") {
    Scene s;
    s.plant("/tmp/sandboxd-host-only", "host");
    auto r = s.h.run({"--user", kAgentUser, "--", "sh", "-c",
                      "ls /tmp/sandboxd-host-only 2>/dev/null; echo agent > /tmp/agent-file && echo wrote"});
    CHECK(r.out == "wrote\n");
    CHECK_FALSE(path_exists("/tmp/agent-file"));
    unlink("/tmp/sandboxd-host-only");
}

TEST_CASE("io_uring: blocked by default - allowed by a profile without write trees / Landlock still holds") {
    Scene s;
    std::string target = s.outside / "secret.txt";
    auto run_uring = [&](const std::vector<std::string>& opts) {
        std::vector<std::string> args = opts;
        args.insert(args.end(), {"--user", kAgentUser, "--workspace", s.h.ws.path(), "--", testcase("uring_escape"), target});
        auto r = s.h.run(args);
        REQUIRE(r.status == 0);
        return r.out;
    };
    CHECK(run_uring({"--profile", s.h.workspace_profile}) == "uring_setup errno=ENOSYS\n");
    // A ring deletes and creates without a syscall the gate could see: a
    // profile that needs the gate cannot allow it.
    std::string gated = s.h.profile("uring-gated", "name='uring-gated'\nextends='workspace-t'\n[syscalls]\nallow=['@io-uring']\n");
    auto refused = s.h.run({"--profile", gated, "--user", kAgentUser, "--workspace", s.h.ws.path(), "--", "true"});
    CHECK(refused.status == 125);
    CHECK_THAT(refused.err, Catch::Contains("allows io_uring, which bypasses the snapshot gate"));
    std::string uring = s.h.profile("uring", "name='uring'\nextends='workspace-t'\n[filesystem]\nwrite=[]\ndestroy=[]\nprotect=[]\n"
                                             "[syscalls]\nallow=['@io-uring']\n");
    std::string r = run_uring({"--profile", uring});
    CHECK((r == "uring_open errno=EACCES\n" || r == "uring_open errno=EROFS\n"));
    CHECK(s.secret() == "secret");
    // Control: with Landlock and the read-only view off (audit mode) the
    // same io_uring open lands, so the refusal above is the sandbox's.
    CHECK(run_uring({"--profile", uring, "--audit"}) == "uring_open ok\n");
    CHECK(s.secret() != "secret");
}

TEST_CASE("kernel.accept_missing weakens nothing on a kernel that has every layer") {
    Scene s;
    std::string p = s.h.profile("accepts-all",
                                "name='accepts-all'\nextends='workspace-t'\n[filesystem]\ndestroy=[]\n"
                                "[kernel]\naccept_missing=['landlock', 'landlock-truncate', 'memfd-noexec', "
                                "'unix-socket-hooks']\n");
    auto r = s.probe({"--profile", p}, {"read_outside", "truncate_in_workspace", "exec_memfd", "create_in_workspace"});
    CHECK(r["read_outside"] == "errno=EACCES");           // Landlock applied
    CHECK(r["truncate_in_workspace"] == "errno=EACCES");  // with its truncate right
    CHECK(r["exec_memfd"] != "ok");                       // vm.memfd_noexec set
    CHECK(r["create_in_workspace"] == "ok");
    auto sessions = list_dir(s.h.state / "sessions");
    REQUIRE(sessions.size() == 1);
    auto journal = sandboxd::read_journal(s.h.dirs().journal_path(sessions[0]));
    REQUIRE(journal.ok());
    REQUIRE_FALSE(journal->empty());
    CHECK(journal->front().value["action"] == "session.start");
    CHECK(journal->front().value["detail"]["weakened"] == nlohmann::json::array());
}

// Where the agent could have put a link, judged as the kernel would let
// it: by an ACL on the directory, by any of its groups (helper 42: a
// directory root:root 0775 with an ACL entry for the agent's user looked
// out of its reach, and root's link moved there led a later workspace to
// the agent's choice); and the working directory a relative or default
// workspace is taken from is the one the user reached, links and all
// (getcwd() gave where the agent's link led, which looked clean).
TEST_CASE("link trust: a directory the agent may write by an ACL - and a workspace taken from where the user cd-ed") {
    Host h;
    TempDir docs("sandboxd-docs", "/var/tmp");
    REQUIRE(chown(docs.path().c_str(), kAgentUid, kAgentGid) == 0);
    SECTION("a root's link below a directory whose ACL lets the agent write: refused") {
        TempDir base("sandboxd-acl", "/var/tmp");
        REQUIRE(chmod(base.path().c_str(), 0755) == 0);
        REQUIRE(mkdir((base / "shared").c_str(), 0775) == 0);
        struct Entry {
            uint16_t tag, perm;
            uint32_t id;
        };
        uint32_t version = 2;
        Entry entries[] = {{0x01, 7, ~0u}, {0x02, 7, kAgentUid}, {0x04, 5, ~0u}, {0x10, 7, ~0u}, {0x20, 5, ~0u}};
        std::string acl(reinterpret_cast<const char*>(&version), sizeof version);
        acl.append(reinterpret_cast<const char*>(entries), sizeof entries);
        REQUIRE(::setxattr((base / "shared").c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0) == 0);
        REQUIRE(symlink(docs.path().c_str(), (base / "shared/proj").c_str()) == 0);
        auto r = h.run({"--user", kAgentUser, "--workspace", base / "shared/proj", "--", "sh", "-c", "echo x > pwned"});
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains("below a directory the agent may write to"));
        CHECK_FALSE(path_exists(docs / "pwned"));
    }
    SECTION("no --workspace, the user in a directory reached through the agent's link: refused") {
        REQUIRE(symlink(docs.path().c_str(), (h.ws / "sub").c_str()) == 0);
        REQUIRE(lchown((h.ws / "sub").c_str(), kAgentUid, kAgentGid) == 0);
        std::vector<std::string> env = h.env();
        auto r = run({"/bin/sh", "-c",
                      "cd " + shell_word(h.ws / "sub") + " && exec " + shell_word(SANDBOX_RUN) + " --user " + kAgentUser +
                          " -- sh -c 'echo x > pwned'"},
                     env);
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains(h.ws / "sub" + " is a symbolic link of uid 4242"));
        CHECK_FALSE(path_exists(docs / "pwned"));
    }
    SECTION("a launcher that changed the directory and left $PWD behind: refused, name it") {
        REQUIRE(symlink(docs.path().c_str(), (h.ws / "sub").c_str()) == 0);
        REQUIRE(lchown((h.ws / "sub").c_str(), kAgentUid, kAgentGid) == 0);
        auto r = run({"/bin/sh", "-c",
                      "cd " + shell_word(h.ws / "sub") + " && PWD=/ exec " + shell_word(SANDBOX_RUN) + " --user " +
                          kAgentUser + " -- sh -c 'echo x > pwned'"},
                     h.env());
        INFO(r.out << r.err);
        CHECK(r.status == 125);
        CHECK_THAT(r.err, Catch::Contains("the working directory is not $PWD (/)"));
        CHECK_FALSE(path_exists(docs / "pwned"));
        // Named, it is judged: refused here, the link being the agent's.
        auto named = h.run({"--user", kAgentUser, "--workspace", h.ws / "sub", "--", "true"});
        CHECK(named.status == 125);
    }
}
