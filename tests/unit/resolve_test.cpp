// The gate's path resolution for the agent: the one-call way through a
// path with no symbolic link and no ".." above its start, and each case
// where it must give way to the walk by hand (which follows links from the
// agent's root, not ours, and keeps ".." below that root).
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <string>

#include "base/unique_fd.h"
#include "gate/resolve.h"
#include "inode.h"
#include "tempdir.h"

using sandboxd::ResolvedPath;
using sandboxd::UniqueFd;
using sandboxd::resolve_for_agent;
using sandboxd::test::TempDir;
using sandboxd::test::inode_of;

namespace {

UniqueFd open_dir(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd);
    return fd;
}

// The agent's world: root/ with root/etc/passwd, root/home/work (its
// working directory), root/home/work/a/b/c, and links in a/.
struct World {
    TempDir dir{"sandboxd-resolve"};
    std::string root = dir / "root";
    UniqueFd root_fd, cwd_fd;
    World() {
        for (const char* d : {"", "/etc", "/home", "/home/work", "/home/work/a", "/home/work/a/b", "/home/work/a/b/c"})
            REQUIRE(::mkdir((root + d).c_str(), 0755) == 0);
        dir.write("root/etc/passwd", "agent's\n");
        dir.write("root/home/work/a/file", "x");
        REQUIRE(::symlink("/etc", (root + "/home/work/a/abs").c_str()) == 0);   // the agent's /etc
        REQUIRE(::symlink("b/c", (root + "/home/work/a/rel").c_str()) == 0);
        REQUIRE(::symlink("../../../../../..", (root + "/home/work/a/up").c_str()) == 0);
        REQUIRE(::symlink("passwd", (root + "/etc/link").c_str()) == 0);
        root_fd = open_dir(root);
        cwd_fd = open_dir(root + "/home/work");
    }
    ResolvedPath resolve(const std::string& path, bool follow_final = false) {
        auto r = resolve_for_agent(root_fd.get(), cwd_fd.get(), path, follow_final);
        REQUIRE(r);
        return std::move(*r);
    }
    int error_of(const std::string& path, bool follow_final = false) {
        auto r = resolve_for_agent(root_fd.get(), cwd_fd.get(), path, follow_final);
        REQUIRE_FALSE(r);
        return r.error().code;
    }
};

}  // namespace

TEST_CASE("resolve: plain paths end in the directory that holds the name") {
    World w;
    auto r = w.resolve("a/b/c/new");
    CHECK(inode_of(r.parent()) == inode_of(w.root + "/home/work/a/b/c"));
    CHECK(r.name == "new");
    CHECK_FALSE(r.trailing_slash);

    auto abs = w.resolve("/etc/passwd");
    CHECK(inode_of(abs.parent()) == inode_of(w.root + "/etc"));
    CHECK(abs.name == "passwd");

    auto one = w.resolve("file");
    CHECK(one.parent() == w.cwd_fd.get());  // lent, not opened
    CHECK(one.name == "file");

    auto dotted = w.resolve("a/./b/../b//c/");
    CHECK(inode_of(dotted.parent()) == inode_of(w.root + "/home/work/a/b"));
    CHECK(dotted.name == "c");
    CHECK(dotted.trailing_slash);
}

TEST_CASE("resolve: symbolic links on the way lead from the agent's root") {
    World w;
    auto abs = w.resolve("a/abs/passwd");
    CHECK(inode_of(abs.parent()) == inode_of(w.root + "/etc"));  // not the host's /etc
    auto rel = w.resolve("a/rel/x");
    CHECK(inode_of(rel.parent()) == inode_of(w.root + "/home/work/a/b/c"));
    auto up = w.resolve("a/up/etc/passwd");
    CHECK(inode_of(up.parent()) == inode_of(w.root + "/etc"));  // ".." stops at the root
}

TEST_CASE("resolve: a final symbolic link is followed only when asked") {
    World w;
    auto kept = w.resolve("/etc/link");
    CHECK(kept.name == "link");
    auto followed = w.resolve("/etc/link", true);
    CHECK(followed.name == "passwd");
    CHECK(inode_of(followed.parent()) == inode_of(w.root + "/etc"));
    auto to_dir = w.resolve("a/abs", true);
    CHECK(inode_of(to_dir.parent()) == inode_of(w.root));
    CHECK(to_dir.name == "etc");
    auto missing = w.resolve("a/b/none", true);
    CHECK(missing.name == "none");
}

TEST_CASE("resolve: .. above where the path starts climbs no higher than the agent's root") {
    World w;
    auto parent = w.resolve("../x");
    CHECK(inode_of(parent.parent()) == inode_of(w.root + "/home"));
    auto far = w.resolve("../../../../../../etc/passwd");
    CHECK(inode_of(far.parent()) == inode_of(w.root + "/etc"));
    auto from_root = w.resolve("/../../etc/passwd");
    CHECK(inode_of(from_root.parent()) == inode_of(w.root + "/etc"));
}

TEST_CASE("resolve: errors are the agent's own") {
    World w;
    CHECK(w.error_of("none/x") == ENOENT);
    CHECK(w.error_of("a/file/x") == ENOTDIR);
    CHECK(w.error_of(std::string(300, 'n') + "/x") == ENAMETOOLONG);
    CHECK(w.error_of("a/" + std::string(300, 'n')) == ENAMETOOLONG);
    CHECK(w.error_of("") == ENOENT);
}

TEST_CASE("resolve: a directory the agent may not search is EACCES, with or without links") {
    if (::geteuid() != 0) {
        WARN("not root: cannot resolve as another user");
        return;
    }
    World w;
    REQUIRE(::chmod(w.dir.path().c_str(), 0755) == 0);
    REQUIRE(::chmod((w.root + "/home/work/a/b").c_str(), 0700) == 0);
    for (const char* path : {"a/b/c/x", "a/rel/x"}) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // As nobody, as the gate's worker would be.
            if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
                ::setresuid(65534, 65534, 65534) != 0)
                ::_exit(100);
            auto r = resolve_for_agent(w.root_fd.get(), w.cwd_fd.get(), path, false);
            ::_exit(r ? 0 : r.error().code);
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        INFO(path);
        CHECK(WEXITSTATUS(status) == EACCES);
    }
}
