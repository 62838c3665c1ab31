// The mount plan's handling of protected paths: which directories are
// pinned and which names the gate guards, on a real directory tree.
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/file_io.h"
#include "mounts/plan.h"
#include "profile/loader.h"
#include "tempdir.h"

using namespace sandboxd;
using sandboxd::test::TempDir;

namespace {

PathRule rule(const std::string& p, bool exists = true) {
    PathRule r;
    r.path = p;
    r.optional = !exists;
    r.exists = exists;
    return r;
}

struct stat stat_of(const std::string& p) {
    struct stat st{};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st;
}

std::vector<std::string> pinned(const MountPlan& plan) {
    std::vector<std::string> out;
    for (const auto& p : plan.pinned) out.push_back(p.path);
    return out;
}

}  // namespace

TEST_CASE("mount plan: directories on the way to a protected path are pinned, a missing one's name guarded") {
    for (const char* base : {"/var/tmp", "/tmp"}) {  // a write tree of its own, or carried into the private /tmp
        INFO(base);
        TempDir ws("sandboxd-plan", base);
        REQUIRE(make_dirs(ws / "a/b", 0755).ok());
        REQUIRE(make_dirs(ws / "repo/.git/hooks", 0755).ok());
        REQUIRE(make_dirs(ws / "wt", 0755).ok());
        ws.write("wt/.git", "gitdir: /elsewhere\n");
        Profile p;
        p.read = {rule(ws.path())};
        p.write = {rule(ws.path())};
        p.protect = {rule(ws / "repo/.git/hooks"), rule(ws / "a/b/c/d", false), rule(ws / "wt/.git/config", false),
                     rule(ws / "missing/x", false)};
        MountPlan plan = plan_mounts(p, ws.path(), {}, false);

        // Outer before inner (a bind onto itself would cover those inside).
        CHECK(pinned(plan) == std::vector<std::string>{ws / "a", ws / "wt", ws / "a/b", ws / "repo", ws / "repo/.git"});
        REQUIRE(plan.guarded.size() == 4);
        // repo/.git/hooks exists (mounted read-only) and is guarded by name
        // too: a rename over it on the host would take the mount away.
        CHECK(plan.guarded[0].name == "hooks");
        CHECK(plan.guarded[0].rest.empty());
        CHECK(plan.guarded[0].ino == stat_of(ws / "repo/.git").st_ino);
        CHECK(plan.guarded[0].held_ino == stat_of(ws / "repo/.git/hooks").st_ino);
        // a/b/c/d: c is missing in a/b.
        CHECK(plan.guarded[1].protected_path == ws / "a/b/c/d");
        CHECK(plan.guarded[1].name == "c");
        CHECK(plan.guarded[1].rest == "d");
        CHECK(plan.guarded[1].ino == stat_of(ws / "a/b").st_ino);
        CHECK(plan.guarded[1].held_ino == 0);
        // wt/.git/config: .git is a file in wt, and it is what holds the name.
        CHECK(plan.guarded[2].name == ".git");
        CHECK(plan.guarded[2].rest == "config");
        CHECK(plan.guarded[2].ino == stat_of(ws / "wt").st_ino);
        CHECK(plan.guarded[2].held_ino == stat_of(ws / "wt/.git").st_ino);
        // missing/x: guarded at the workspace itself.
        CHECK(plan.guarded[3].name == "missing");
        CHECK(plan.guarded[3].rest == "x");
        CHECK(plan.guarded[3].ino == stat_of(ws.path()).st_ino);
        CHECK(plan.guarded[3].dev == stat_of(ws.path()).st_dev);
    }
}

TEST_CASE("mount plan: protected paths outside the write trees, and audit mode, need neither pins nor guards") {
    TempDir ws("sandboxd-plan", "/var/tmp");
    TempDir other("sandboxd-plan-ro", "/var/tmp");
    REQUIRE(make_dirs(other / "x", 0755).ok());
    Profile p;
    p.read = {rule(ws.path()), rule(other.path())};
    p.write = {rule(ws.path())};
    p.protect = {rule(other / "x/y", false), rule(ws / "x/y", false)};
    MountPlan plan = plan_mounts(p, ws.path(), {}, false);
    CHECK(plan.pinned.empty());
    REQUIRE(plan.guarded.size() == 1);
    CHECK(plan.guarded[0].protected_path == ws / "x/y");
    CHECK(plan.guarded[0].name == "x");
    CHECK(plan.guarded[0].rest == "y");
    MountPlan audit = plan_mounts(p, ws.path(), {}, true);
    CHECK(audit.pinned.empty());
    CHECK(audit.guarded.empty());
}

TEST_CASE("mount plan: devices a profile names are carried into the session's /dev - not /dev itself or its own") {
    TempDir ws("sandboxd-plan", "/var/tmp");
    Profile p;
    p.read = {rule("/dev"), rule("/dev/null"), rule("/dev/loop-control"), rule("/dev/pts"), rule("/dev/shm"),
              rule("/dev/fd"), rule("/dev/stdin"), rule(ws.path()), rule("/dev/no-such-device", false)};
    p.write = {rule("/dev/loop-control"), rule("/dev/tty")};
    p.exec_allow = {rule("/usr")};
    MountPlan plan = plan_mounts(p, ws.path(), {}, false);
    CHECK(plan.devices == std::vector<std::string>{"/dev/loop-control"});
}

TEST_CASE("mount plan: everything outside the exec scope is noexec - the outermost existing exec trees are made executable again") {
    TempDir ws("sandboxd-plan", "/tmp");
    Profile p;
    p.read = {rule("/usr"), rule("/opt"), rule(ws.path())};
    p.write = {rule(ws.path())};
    p.exec_allow = {rule("/usr"), rule("/usr/bin"), rule("/no-such-tree", false)};
    MountPlan plan = plan_mounts(p, ws.path(), {}, false);
    CHECK(plan.noexec_root);
    CHECK(plan.exec_trees == std::vector<std::string>{"/usr"});
    // A workspace in /tmp is carried into the session's own /tmp: noexec.
    REQUIRE(plan.carry_into_tmp.size() == 1);
    CHECK(plan.carry_into_tmp[0].noexec);
    // An exec tree of / leaves nothing to make noexec; audit mode enforces nothing.
    p.exec_allow.push_back(rule("/"));
    MountPlan all = plan_mounts(p, ws.path(), {}, false);
    CHECK_FALSE(all.noexec_root);
    CHECK(all.exec_trees.empty());
    p.exec_allow.pop_back();
    p.exec_allow.push_back(rule(ws.path()));
    MountPlan ws_exec = plan_mounts(p, ws.path(), {}, false);
    REQUIRE(ws_exec.carry_into_tmp.size() == 1);
    CHECK_FALSE(ws_exec.carry_into_tmp[0].noexec);
    MountPlan audit = plan_mounts(p, ws.path(), {}, true);
    CHECK_FALSE(audit.noexec_root);
    CHECK(audit.exec_trees.empty());
    CHECK_FALSE(audit.carry_into_tmp[0].noexec);
}

TEST_CASE("mount plan: an exec tree named through a symlink into a write tree is one inside it - executable again there, and --explain can say so") {
    TempDir ws("sandboxd-plan", "/var/tmp");
    TempDir other("sandboxd-plan-link", "/var/tmp");
    REQUIRE(make_dirs(ws / "tools", 0755).ok());
    REQUIRE(::symlink((ws / "tools").c_str(), (other / "link").c_str()) == 0);
    // Loaded as sandbox-run loads it: the loader names each tree by where
    // it leads, which the plan goes by.
    TempDir profiles("sandboxd-plan-prof");
    profiles.write("p.toml", "name = 'p'\n[filesystem]\nread = ['" + ws.path() + "']\nwrite = ['" + ws.path() +
                                 "']\n[exec]\nallow = ['/usr', '" + other / "link" + "']\n");
    auto p = ProfileLoader({}).load(profiles / "p.toml", ProfileVars{ws.path(), "/root", 4242, 4343});
    INFO((p ? std::string() : p.error().describe()));
    REQUIRE(p.ok());
    MountPlan plan = plan_mounts(*p, ws.path(), {}, false);
    REQUIRE(plan.writable.size() == 1);
    CHECK(plan.writable[0].noexec);
    char real[PATH_MAX];
    REQUIRE(::realpath((ws / "tools").c_str(), real));
    CHECK(plan.exec_again == std::vector<std::string>{real});
}
