// Protected paths (the profile's `protect`): read-only inside writable
// trees, and kept so when the agent moves what holds them, when they do
// not exist yet, and when the host makes or replaces them mid-session.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "base/file_io.h"
#include "journal/journal.h"
#include "fs_scene.h"
#include "session_helpers.h"

using namespace sandboxd::test;

TEST_CASE("protected persistence paths stay read-only inside a writable workspace") {
    Scene s;
    REQUIRE(sandboxd::make_dirs(s.h.ws / ".git/hooks", 0755).ok());
    s.plant(s.h.ws / ".git/config", "[core]\n");
    for (const auto& d : {s.h.ws / ".git", s.h.ws / ".git/hooks"}) REQUIRE(chown(d.c_str(), kAgentUid, kAgentGid) == 0);
    auto r =
        s.probe({"--profile", s.h.workspace_profile},
                {"write_protected_hook", "write_protected_config", "rename_protected_away", "rename_protected_parent",
                 "exchange_protected_parent", "rmdir_protected_parent", "create_in_workspace"});
    CHECK(r["write_protected_hook"] == "errno=EROFS");
    CHECK(r["write_protected_config"] == "errno=EROFS");
    CHECK(r["rename_protected_away"] != "ok");
    // The directories holding protected paths are pinned in place.
    CHECK(r["rename_protected_parent"] == "errno=EBUSY");
    CHECK(r["exchange_protected_parent"] == "errno=EBUSY");
    CHECK(r["rmdir_protected_parent"] == "errno=EBUSY");
    CHECK(r["create_in_workspace"] == "ok");
    CHECK_FALSE(path_exists(s.h.ws / ".git/hooks/post-checkout"));
    CHECK_FALSE(path_exists(s.h.ws / "git-gone"));
    CHECK(path_exists(s.h.ws / "fake-git/hooks/post-checkout"));  // made, but not put in place
    CHECK(*sandboxd::read_file(s.h.ws / ".git/config") == "[core]\n");
}

// /home -> /var/home (ostree hosts): a protected path spelled through a
// symlinked directory was no path under the write trees, so nothing on its
// way was guarded (.git/hooks could be made in a workspace that is no
// repository) or pinned. Read-only binds of existing paths still held,
// which hid the gap.
TEST_CASE("a protected path spelled through a symlinked directory is guarded all the same") {
    Host h;
    TempDir links{"sandboxd-lnk", "/var/tmp"};
    std::string alias = links / "ws";
    REQUIRE(symlink(h.ws.path().c_str(), alias.c_str()) == 0);
    std::string p = h.profile(
        "aliased", "name='aliased'\nextends='workspace-t'\n[filesystem]\nprotect=['-" + alias + "/.tool/hooks']\n");
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "mkdir .tool; mkdir .tool/hooks; echo rc=$?"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("rc=1"));
    CHECK_FALSE(path_exists(h.ws / ".tool/hooks"));
}

// A directory on the way made by someone else (another session on the
// workspace, the user's own `git init`) had no guards inside: only the
// agent's own mkdir added them.
TEST_CASE("a name on the way made by someone else mid-session is guarded inside all the same") {
    Host h;
    std::vector<std::string> session = {"--user",
                                        kAgentUser,
                                        "--profile",
                                        h.workspace_profile,
                                        "--workspace",
                                        h.ws.path(),
                                        "--",
                                        "sh",
                                        "-c",
                                        "touch go; " + shell_wait_for(".git") +
                                            "mkdir .git/hooks; echo hooks=$?; echo x > "
                                            ".git/config; echo config=$?; mkdir .git/other; "
                                            "echo other=$?; " +
                                            shell_wait_for(".git/modules") +
                                            "echo x > .git/modules/hook; echo in-protected=$?; "
                                            "mkdir .git/modules/sub; echo sub=$?"};
    auto r = h.run_meanwhile(session, [&] {
        wait_for_path(h.ws / "go");
        REQUIRE(::mkdir((h.ws / ".git").c_str(), 0755) == 0);
        REQUIRE(::chown((h.ws / ".git").c_str(), kAgentUid, kAgentGid) == 0);
        // And a protected directory itself, as `git init` or a submodule
        // makes one: nothing may be made in it.
        wait_for_path(h.ws / ".git/other");
        REQUIRE(::mkdir((h.ws / ".git/modules").c_str(), 0777) == 0);
        REQUIRE(::chmod((h.ws / ".git/modules").c_str(), 0777) == 0);
    });
    INFO(r.out << r.err);
    CHECK_THAT(r.out, Catch::Contains("hooks=1"));
    CHECK_THAT(r.out, !Catch::Contains("config=0"));
    CHECK_THAT(r.out, Catch::Contains("other=0"));
    CHECK_THAT(r.out, !Catch::Contains("in-protected=0"));
    CHECK_THAT(r.out, Catch::Contains("sub=1"));
    CHECK(list_dir(h.ws / ".git/modules").empty());
    CHECK_FALSE(path_exists(h.ws / ".git/hooks"));
    CHECK_FALSE(path_exists(h.ws / ".git/config"));
}

// git rewrites .git/config by writing a lock file and renaming it over
// the old one; the kernel then detaches the read-only mount on the old
// file in every namespace. The agent found the new file writable (or
// removed it and made its own) and put core.fsmonitor in it, which the
// user's next `git status` ran.
TEST_CASE("a protected file the host replaces by rename mid-session stays out of the agent's reach") {
    Host h;
    REQUIRE(sandboxd::make_dirs(h.ws / ".git/hooks", 0755).ok());
    plant_file(h.ws / ".git/config", "[core]\n");
    REQUIRE(chown((h.ws / ".git").c_str(), kAgentUid, kAgentGid) == 0);
    auto r = h.run_meanwhile(
        {"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--", "sh", "-c",
         "touch go; " + shell_wait_for("replaced") +
             "echo '[core] fsmonitor = evil' >> .git/config; echo append=$?; "
             "rm -f .git/config; echo remove=$?; mv .git/config .git/config.old; echo move=$?; "
             "echo x > .git/config; echo write=$?; "
             "(exec 3<.git/config; echo evil >> /proc/self/fd/3); echo reopen=$?; "
             "ln .git/config .git/alias; echo link=$?; chmod 666 .git/config; echo chmod=$?"},
        [&] {
            wait_for_path(h.ws / "go");
            plant_file(h.ws / ".git/config.lock", "[core]\n\tbare = false\n");
            REQUIRE(::rename((h.ws / ".git/config.lock").c_str(), (h.ws / ".git/config").c_str()) == 0);
            plant_file(h.ws / "replaced", "");
        });
    INFO(r.out << r.err);
    for (const char* step : {"append=0", "remove=0", "move=0", "write=0", "reopen=0", "link=0", "chmod=0"})
        CHECK(r.out.find(step) == std::string::npos);
    CHECK(*sandboxd::read_file(h.ws / ".git/config") == "[core]\n\tbare = false\n");
}

TEST_CASE(
    "a protected path that does not exist cannot be made - names on its way only as empty "
    "directories") {
    Scene s;
    // In this order: the ways of making .git other than mkdir first, then
    // the empty directory, and what may not follow in or onto it.
    const std::vector<std::string> makes = {"make_guarded_file",   "make_guarded_symlink", "make_guarded_fifo",
                                            "rename_to_guarded",   "link_to_guarded",      "tmpfile_to_guarded",
                                            "make_git_then_hooks", "make_git_config",      "replace_made_git"};
    SECTION("a workspace that is not a repository: no .git") {
        std::vector<std::string> probes = makes;
        probes.insert(probes.end(),
                      {"create_in_workspace", "mkdir_in_workspace", "tmpfile_linked", "link_symlink_in_workspace"});
        auto r = s.probe({"--profile", s.h.workspace_profile}, probes);
        for (const auto& m : makes) {
            INFO(m);
            CHECK(r[m] == "errno=EROFS");
        }
        // .git itself, as an empty directory, and nothing in it.
        CHECK(list_dir(s.h.ws / ".git").empty());
        CHECK(path_exists(s.h.ws / "made-git2/hooks"));
        // Everything else that makes a name still works, through the gate.
        CHECK(r["create_in_workspace"] == "ok");
        CHECK(r["mkdir_in_workspace"] == "ok");
        CHECK(r["tmpfile_linked"] == "ok");
        CHECK(r["link_symlink_in_workspace"] == "ok");
        CHECK(path_exists(s.h.ws / "from-tmpfile"));
        CHECK(*sandboxd::read_file(s.h.ws / "existing-link") == "old");
        CHECK(*sandboxd::read_file(s.h.ws / "existing-symlink") == "old");
        auto journal = sandboxd::read_file(s.h.dirs().journal_path(only_session(s.h)));
        REQUIRE(journal.ok());
        CHECK(journal->find("\"rule\":\"filesystem.protect\"") != std::string::npos);
    }
    SECTION("a worktree: .git is a file naming the git directory") {
        s.plant(s.h.ws / ".git", "gitdir: /srv/real\n");
        auto r = s.probe({"--profile", s.h.workspace_profile}, {"write_guarded_file", "replace_guarded_file"});
        CHECK(r["write_guarded_file"] == "errno=EROFS");
        CHECK(r["replace_guarded_file"] == "errno=EROFS");
        // Removing it was allowed (rollback brings it back), and so was an
        // empty .git directory in its place, but nothing inside.
        CHECK(list_dir(s.h.ws / ".git").empty());
    }
    SECTION(
        "two names down (~/.config/git when there is no ~/.config): the first only as a "
        "directory") {
        std::string prof =
            s.h.profile("guard-config", "name = 'guard-config'\nextends = '" + s.h.workspace_profile +
                                            "'\n[filesystem]\nprotect = ['-${WORKSPACE}/.config/git']\n");
        auto r = s.h.run({"--user", kAgentUser, "--profile", prof, "--workspace", s.h.ws.path(), "--", "sh", "-c",
                          "mkdir prep prep/git; mv -T prep .config 2>/dev/null || echo refused-replace; "
                          "mkdir -p .config/other && echo made-other; mkdir .config/git 2>/dev/null || "
                          "echo refused-git; "
                          "mv .config .config-old && mkdir .config && echo remade; "
                          "mv prep/git .config/git 2>/dev/null || echo refused-move; "
                          "ln -s /tmp .config/git 2>/dev/null || echo refused-symlink"});
        INFO(r.err);
        CHECK(r.out == "refused-replace\nmade-other\nrefused-git\nremade\nrefused-move\nrefused-symlink\n");
        CHECK(list_dir(s.h.ws / ".config").empty());
        CHECK(path_exists(s.h.ws / ".config-old/other"));
    }
    SECTION("a worktree's .git file is not rewritten under another name either") {
        s.plant(s.h.ws / ".git", "gitdir: /srv/real\n");
        auto r = s.h.run({"--user", kAgentUser, "--profile", s.h.workspace_profile, "--workspace", s.h.ws.path(), "--",
                          "sh", "-c",
                          // No other name at all, now (the link itself is refused).
                          "ln .git other-name 2>/dev/null || echo refused-link; "
                          "mv .git moved && { echo 'gitdir: /evil' >> moved 2>/dev/null || echo "
                          "refused-moved; }; "
                          "truncate -s 0 moved 2>/dev/null || echo refused-truncate; "
                          "python3 -c \"import os; os.write(os.open('moved', os.O_WRONLY | "
                          "os.O_EXCL), b'gitdir: /evil')\" "
                          "2>/dev/null || echo refused-excl"});
        INFO(r.err);
        CHECK(r.out == "refused-link\nrefused-moved\nrefused-truncate\nrefused-excl\n");
        CHECK(*sandboxd::read_file(s.h.ws / "moved") == "gitdir: /srv/real\n");
    }
    SECTION("symlinked protected paths: the link stays, and what it leads to is protected") {
        REQUIRE(sandboxd::make_dirs(s.h.ws / "dotfiles/cfg", 0755).ok());
        s.plant(s.h.ws / "dotfiles/rc", "rc\n");
        for (const auto& [target, link] :
             {std::pair{"dotfiles/rc", "rc-link"}, {"dotfiles/cfg", "cfg"}, {"nowhere", "dangling"}})
            REQUIRE(symlink(target, (s.h.ws / link).c_str()) == 0);
        for (const char* d : {"dotfiles", "dotfiles/cfg"})
            REQUIRE(chown((s.h.ws / d).c_str(), kAgentUid, kAgentGid) == 0);
        std::string prof = s.h.profile("guard-links", "name = 'guard-links'\nextends = '" + s.h.workspace_profile +
                                                          "'\n[filesystem]\nprotect = ['-${WORKSPACE}/rc-link', "
                                                          "'-${WORKSPACE}/cfg/git', '-${WORKSPACE}/dangling']\n");
        auto r = s.h.run({"--user", kAgentUser, "--profile", prof, "--workspace", s.h.ws.path(), "--", "sh", "-c",
                          "echo evil >> rc-link 2>/dev/null || echo refused-through; "
                          "rm rc-link 2>/dev/null || echo refused-remove; "
                          "echo evil > rc-link 2>/dev/null || echo refused-remake; "
                          "mkdir cfg/git 2>/dev/null || echo refused-git; "
                          "mkdir dotfiles/cfg/git 2>/dev/null || echo refused-real-git; "
                          "mv dotfiles/cfg dotfiles/cfg2 2>/dev/null || echo refused-move; "
                          "echo x > dangling 2>/dev/null || echo refused-dangling; "
                          "echo x > nowhere 2>/dev/null || echo refused-target"});
        INFO(r.err);
        CHECK(r.out ==
              "refused-through\nrefused-remove\nrefused-remake\nrefused-git\nrefused-real-"
              "git\nrefused-move\n"
              "refused-dangling\nrefused-target\n");
        CHECK(*sandboxd::read_file(s.h.ws / "dotfiles/rc") == "rc\n");
        CHECK_FALSE(path_exists(s.h.ws / "nowhere"));
        CHECK(list_dir(s.h.ws / "dotfiles/cfg").empty());
    }
    SECTION("a repository: no .git/commondir, git's own files still made") {
        REQUIRE(sandboxd::make_dirs(s.h.ws / ".git/hooks", 0755).ok());
        s.plant(s.h.ws / ".git/config", "[core]\n");
        REQUIRE(chown((s.h.ws / ".git").c_str(), kAgentUid, kAgentGid) == 0);
        auto r = s.probe({"--profile", s.h.workspace_profile}, {"make_commondir", "make_git_lock"});
        CHECK(r["make_commondir"] == "errno=EROFS");
        CHECK(r["make_git_lock"] == "ok");
        CHECK_FALSE(path_exists(s.h.ws / ".git/commondir"));
    }
    SECTION(
        "a unix socket bound where a protected path would be: refused - other binds as the kernel "
        "has them, but "
        "abstract names") {
        auto r = s.h.run({"--user", kAgentUser, "--profile", s.h.workspace_profile, "--workspace", s.h.ws.path(), "--",
                          "python3", "-c",
                          "import socket, os\n"
                          "os.umask(0o077); os.mkdir('.git')\n"
                          "for p in ('.git/hooks', '.git/config', 'ok.sock', '\\0abstract'):\n"
                          "    u = socket.socket(socket.AF_UNIX)\n"
                          "    try: u.bind(p); print(p.strip(chr(0)), 'bound')\n"
                          "    except OSError as e: print(p.strip(chr(0)), 'refused', e.errno)\n"
                          "print(oct(os.stat('ok.sock').st_mode & 0o777))\n"
                          "t = socket.socket()\n"
                          "try: t.bind(('127.0.0.1', 0)); print('tcp bound')\n"
                          "except OSError as e: print('tcp refused', e.errno)\n"});
        INFO(r.err);
        CHECK(r.out ==
              ".git/hooks refused 30\n.git/config refused 30\nok.sock bound\nabstract refused "
              "1\n0o700\n"
              "tcp refused 13\n");
        CHECK(list_dir(s.h.ws / ".git").empty());
        // The refused TCP bind is journaled under the agent, not the gate,
        // and once: by the gate, not again at the agent's exit from bind().
        auto journal = sandboxd::read_file(s.h.dirs().journal_path(only_session(s.h)));
        REQUIRE(journal.ok());
        INFO(*journal);
        CHECK(journal->find("\"comm\":\"python3\",\"action\":\"net.bind\",\"target\":\"127.0.0.1:"
                            "0\",\"decision\":\"deny\"") != std::string::npos);
        size_t lines = 0;
        for (size_t at = 0;
             (at = journal->find("\"action\":\"net.bind\",\"target\":\"127.0.0.1:0\"", at)) != std::string::npos; ++at)
            ++lines;
        CHECK(lines == 1);
        // The socket file the gate made for the agent is a file made, on the
        // record once; a guarded name refused is on it once too.
        auto count = [&](const std::string& needle) {
            size_t n = 0;
            for (size_t at = 0; (at = journal->find(needle, at)) != std::string::npos; ++at) ++n;
            return n;
        };
        CHECK(count("\"action\":\"file.mknod\",\"target\":\"" + (s.h.ws / "ok.sock") + "\",\"decision\":\"allow\"") ==
              1);
        CHECK(count("ok.sock\"") == 1);
        CHECK(count(".git/hooks\",\"decision\":\"deny\"") == 1);
    }
    SECTION(
        "a repository with a submodule: its git directory's config and hooks, and no linked "
        "worktree made") {
        REQUIRE(sandboxd::make_dirs(s.h.ws / ".git/modules/lib/hooks", 0755).ok());
        s.plant(s.h.ws / ".git/config", "[core]\n");
        s.plant(s.h.ws / ".git/modules/lib/config", "[core]\n");
        for (const char* d : {".git", ".git/modules", ".git/modules/lib", ".git/modules/lib/hooks"})
            REQUIRE(chown((s.h.ws / d).c_str(), kAgentUid, kAgentGid) == 0);
        // git status in the superproject runs git status in the submodule,
        // which would run its core.fsmonitor; a linked worktree's commondir
        // would send the other worktree's git to the agent's config.
        auto r = s.h.run({"--user", kAgentUser, "--profile", s.h.workspace_profile, "--workspace", s.h.ws.path(), "--",
                          "sh", "-c",
                          "echo '[core] fsmonitor = touch /tmp/x' >> .git/modules/lib/config 2>/dev/null || "
                          "echo refused-config; "
                          "echo evil > .git/modules/lib/hooks/post-checkout 2>/dev/null || echo refused-hook; "
                          "mkdir -p .git/worktrees/w 2>/dev/null || echo refused-worktree; "
                          "echo x > .git/config.worktree 2>/dev/null || echo refused-config-worktree; "
                          "touch .git/index.lock && echo made-lock"});
        INFO(r.err);
        CHECK(r.out == "refused-config\nrefused-hook\nrefused-worktree\nrefused-config-worktree\nmade-lock\n");
        CHECK(*sandboxd::read_file(s.h.ws / ".git/modules/lib/config") == "[core]\n");
        CHECK_FALSE(path_exists(s.h.ws / ".git/worktrees"));
        CHECK_FALSE(path_exists(s.h.ws / ".git/config.worktree"));
    }
}

// A protected directory that is not there at the start, made by the host
// mid-session (the user's `git submodule update` makes .git/modules/NAME
// with a config and hooks of its own), or one put in place of the mounted
// one, had guards on the names directly in it at most: the agent wrote
// .git/modules/NAME/config (core.fsmonitor runs at the user's next `git
// status` there) and made hooks below it, 5 of 6 attempts before.
TEST_CASE("a protected directory the host makes or replaces mid-session is read-only all the way down") {
    Host h;
    REQUIRE(sandboxd::make_dirs(h.ws / ".git/hooks", 0755).ok());
    plant_file(h.ws / ".git/config", "[core]\n");
    REQUIRE(
        run({"/bin/chown", "-R", std::to_string(kAgentUid) + ":" + std::to_string(kAgentGid), h.ws / ".git"}).status ==
        0);
    std::string script = "touch go; " + shell_wait_for("made") +
                         "echo evil >> .git/modules/sub/config; echo config=$?; "
                         "echo evil > .git/modules/sub/hooks/post-checkout; echo sub-hook=$?; "
                         "mkdir .git/modules/sub/hooks/deeper; echo deeper=$?; "
                         "mv .git/modules/sub/config .git/modules/sub/config.old; echo move=$?; "
                         "mkdir .git/modules/other; echo other=$?; "
                         "echo evil > .git/hooks/pre-commit; echo hook=$?; "
                         "echo evil >> .git/hooks/pre-push.sample; echo sample=$?; "
                         // Through a descriptor opened for reading, and
                         // through another name for the same file.
                         "(exec 3<.git/modules/sub/config; echo evil >> /proc/self/fd/3); echo reopen=$?; "
                         "ln .git/modules/sub/config .git/alias; echo link=$?; "
                         "chmod 777 .git/modules/sub/config; echo chmod=$?; "
                         "mkdir -p src/a/b && echo ok > src/a/b/file && ln src/a/b/file src/f2; echo work=$?";
    std::vector<std::string> session = {
        "--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--", "sh", "-c", script};
    auto r = h.run_meanwhile(session, [&] {
        wait_for_path(h.ws / "go");
        plant_file(h.ws / ".git/modules/sub/config", "[core]\n");
        REQUIRE(sandboxd::make_dirs(h.ws / ".git/modules/sub/hooks", 0755).ok());
        // The mounted .git/hooks moved aside and a new one made (the mount
        // is detached from it in every namespace).
        REQUIRE(::rename((h.ws / ".git/hooks").c_str(), (h.ws / ".git/hooks.old").c_str()) == 0);
        plant_file(h.ws / ".git/hooks/pre-push.sample", "sample\n");
        REQUIRE(run({"/bin/chown", "-R", std::to_string(kAgentUid) + ":" + std::to_string(kAgentGid), h.ws / ".git"})
                    .status == 0);
        plant_file(h.ws / "made", "");
    });
    INFO(r.out << r.err);
    for (const char* step : {"config=0", "sub-hook=0", "deeper=0", "move=0", "other=0", "hook=0", "sample=0",
                             "reopen=0", "link=0", "chmod=0"})
        CHECK(r.out.find(step) == std::string::npos);
    CHECK_THAT(r.out, Catch::Contains("work=0"));
    CHECK(*sandboxd::read_file(h.ws / ".git/modules/sub/config") == "[core]\n");
    CHECK(*sandboxd::read_file(h.ws / ".git/hooks/pre-push.sample") == "sample\n");
    CHECK(list_dir(h.ws / ".git/modules/sub/hooks").empty());
    CHECK(list_dir(h.ws / ".git/modules") == std::vector<std::string>{"sub"});
    CHECK(list_dir(h.ws / ".git/hooks") == std::vector<std::string>{"pre-push.sample"});
}

// --explain names protected paths where they are, which an agent's link
// chooses (a workspace's .git made a link to a directory of any name in an
// earlier session): its rows printed the name raw, escape sequences and a
// line of its own for the user's terminal (helper 40).
TEST_CASE("explain: sandbox-run --explain prints the names an agent's link leads to inert") {
    Host h;
    const std::string evil = "evil\x1b]2;PWNED\x07\x1b[2J\nsandbox-run: forged line";
    REQUIRE(sandboxd::make_dirs(h.ws / (evil + "/hooks"), 0755).ok());
    REQUIRE(symlink(evil.c_str(), (h.ws / ".git").c_str()) == 0);
    REQUIRE(run({"/bin/chown", "-hR", std::to_string(kAgentUid) + ":" + std::to_string(kAgentGid), h.ws.path()}).status == 0);
    auto r = h.run({"--explain", "--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path()});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("protect: " + h.ws.path() + "/evil\\x1b]2;PWNED\\x07\\x1b[2J\\x0asandbox-run: forged line/hooks"));
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(r.out.find('\x07') == std::string::npos);
    CHECK(r.out.find("\nsandbox-run: forged") == std::string::npos);
}

// A protected path is followed where it leads and mounted there. In an
// exec tree its mount was made executable, wherever it led: an earlier
// session's agent made the protected name a link to a directory of its own
// outside the exec scope, and ld.so ran what it had put there (helper 40).
// The mount now keeps the exec attribute of where it leads.
TEST_CASE("a protected path in an exec tree that an agent made a link elsewhere leaves noexec there") {
    Host h;
    REQUIRE(sandboxd::make_dirs(h.ws / "tools/bin", 0755).ok());
    REQUIRE(sandboxd::make_dirs(h.ws / "data", 0755).ok());
    for (const char* to : {"data/t", "tools/bin/t"}) REQUIRE(run({"/bin/cp", "/usr/bin/true", h.ws / to}).status == 0);
    REQUIRE(symlink("../data", (h.ws / "tools/hooks").c_str()) == 0);
    REQUIRE(run({"/bin/chown", "-hR", std::to_string(kAgentUid) + ":" + std::to_string(kAgentGid), h.ws.path()}).status == 0);
    const std::string tc = TESTCASES_DIR;
    std::string p = h.profile("exec-tools", "name='exec-tools'\nextends='workspace-t'\n[filesystem]\n"
                                            "protect = ['${WORKSPACE}/tools/hooks', '${WORKSPACE}/tools/bin']\n"
                                            "[exec]\nallow = ['/usr', '-/bin', '-/lib', '-/lib64', '" + tc +
                                                "', '${WORKSPACE}/tools']\n");
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "sh", "-c",
                    "/lib64/ld-linux-x86-64.so.2 ./data/t 2>/dev/null; echo data=$?; "
                    "/lib64/ld-linux-x86-64.so.2 ./tools/bin/t; echo bin=$?; ./tools/bin/t; echo exec=$?"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "data=127\nbin=0\nexec=0\n");
}

// The directories above a protected path are pinned: bound onto
// themselves, writable. A session still running on the directory above
// kept exchanging a later session's .git with a link of its own to the
// user's directory, and the pin, following the link, made that directory
// a write tree's mount: chmod, utimes, xattrs landed outside the write
// trees (helper 40: 27 of 100 starts). Pins follow no link: such a start
// is refused, or its pin is the real .git.
TEST_CASE("a running session swapping a later session's pinned .git for a link pins nothing outside") {
    Host h;
    TempDir outer("sandboxd-outer", "/var/tmp");
    REQUIRE(sandboxd::make_dirs(outer / "ws/.git/hooks", 0755).ok());
    REQUIRE(run({"/bin/chown", "-R", std::to_string(kAgentUid) + ":" + std::to_string(kAgentGid), outer.path()}).status == 0);
    TempDir docs("sandboxd-docs", "/var/tmp");
    REQUIRE(chown(docs.path().c_str(), kAgentUid, kAgentGid) == 0);
    docs.write("secret.txt", "the user's own\n");
    REQUIRE(chown((docs / "secret.txt").c_str(), kAgentUid, kAgentGid) == 0);
    REQUIRE(chmod((docs / "secret.txt").c_str(), 0600) == 0);
    Background s1(h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", outer.path(), "--",
                              testcase("swap_flip"), outer.path(), docs.path(), "15", "ws/.git"}),
                  h.env());
    const std::string secret = shell_word(docs / "secret.txt");
    const std::string probe = "grep -q " + shell_word(docs.path()) + " /proc/self/mountinfo && echo mounted; chmod 644 " +
                              secret + " 2>/dev/null && echo chmod; echo ran";
    int ran = 0, refused = 0, leaked = 0;
    for (int i = 0; i < 100; ++i) {
        auto r = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", outer / "ws", "--", "sh",
                        "-c", probe});
        struct stat st{};
        if (r.out.find("mounted") != std::string::npos || r.out.find("chmod") != std::string::npos ||
            (::stat((docs / "secret.txt").c_str(), &st) == 0 && (st.st_mode & 07777) != 0600)) {
            ++leaked;
            UNSCOPED_INFO("start " << i << ": " << r.out << r.err);
            ::chmod((docs / "secret.txt").c_str(), 0600);
        }
        if (r.status == 0) ++ran;
        else ++refused;
    }
    auto flips = s1.wait(60000);
    INFO(flips.out << flips.err << "\nran " << ran << ", refused " << refused);
    REQUIRE(flips.status == 0);
    CHECK(leaked == 0);
    auto after = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", outer / "ws", "--", "sh",
                        "-c", probe});
    INFO(after.out << after.err);
    CHECK(after.status == 0);
    CHECK(after.out == "ran\n");
}
