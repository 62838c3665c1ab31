// Read trees granted around hidden paths (landlock/hidden_split.h), on a
// real directory tree; the kernel side is in privileged/hidden_paths_test.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "landlock/abi.h"
#include "landlock/hidden_split.h"
#include "tempdir.h"

using namespace sandboxd;
using sandboxd::test::TempDir;

namespace {

constexpr uint64_t kRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr uint64_t kWrite = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;

std::map<std::string, LandlockRule> by_path(const std::vector<LandlockRule>& rules) {
    std::map<std::string, LandlockRule> m;
    for (const auto& r : rules) m[r.path] = r;
    return m;
}

struct Tree {
    TempDir t{"sandboxd-split", "/var/tmp"};
    std::string root;
    Tree() {
        char real[PATH_MAX];
        REQUIRE(::realpath(t.path().c_str(), real));
        root = real;
        for (const char* d : {"sub", "deep", "deep/inner"}) std::filesystem::create_directory(root + "/" + d);
        for (const char* f : {"a.txt", "sub/x", ".netrc", ".netrc.lock", ".netrcx", "deep/other", "deep/inner/secret"})
            t.write(f, "x");
        std::filesystem::create_symlink(root + "/.netrc", root + "/lnk");
    }
    std::vector<std::string> hidden() const {
        return {root + "/.netrc", root + "/deep/inner/secret", root + "/missing/y"};
    }
};

}  // namespace

TEST_CASE("hidden split: a read tree above hidden paths is granted entry by entry, the hidden names left out") {
    Tree tr;
    std::vector<LandlockRule> rules = {{tr.root, kRead, "read"}, {"/usr", kRead, "read"}};
    std::vector<std::string> notes, warnings;
    grant_around_hidden(rules, tr.hidden(), ::geteuid(), kWrite, notes, warnings);
    auto m = by_path(rules);
    // Untouched: a tree with nothing hidden inside.
    REQUIRE(m.count("/usr"));
    CHECK(m["/usr"].access == kRead);
    CHECK_FALSE(m["/usr"].beside_hidden);
    // The directories on the way: listing only.
    for (const auto& d : {tr.root, tr.root + "/deep", tr.root + "/deep/inner"}) {
        INFO(d);
        REQUIRE(m.count(d));
        CHECK(m[d].access == LANDLOCK_ACCESS_FS_READ_DIR);
        CHECK(m[d].beside_hidden);
        CHECK(m[d].on_the_way);
    }
    // Everything else in them as the tree was (files: file rights).
    CHECK(m[tr.root + "/a.txt"].access == LANDLOCK_ACCESS_FS_READ_FILE);
    CHECK_FALSE(m[tr.root + "/a.txt"].on_the_way);
    CHECK(m[tr.root + "/sub"].access == kRead);
    CHECK(m[tr.root + "/deep/other"].access == LANDLOCK_ACCESS_FS_READ_FILE);
    // A longer name that is not the hidden one's temporary: granted.
    CHECK(m[tr.root + "/.netrcx"].access == LANDLOCK_ACCESS_FS_READ_FILE);
    // No rule: the hidden names, what begins with one (its lock file), a
    // link (checked where it leads), and nothing inside a directory granted whole.
    for (const auto& p : {tr.root + "/.netrc", tr.root + "/.netrc.lock", tr.root + "/deep/inner/secret",
                          tr.root + "/lnk", tr.root + "/sub/x", tr.root + "/missing"})
        CHECK_FALSE(m.count(p));
    REQUIRE(notes.size() == 1);
    CHECK_THAT(notes[0], Catch::Contains("entry by entry"));
    CHECK(warnings.empty());
}

TEST_CASE("hidden split: write trees and directories of other users are left whole") {
    Tree tr;
    std::vector<std::string> notes, warnings;
    SECTION("a write tree: whole, and said so") {
        std::vector<LandlockRule> rules = {{tr.root, kRead | kWrite, "write"}};
        grant_around_hidden(rules, tr.hidden(), ::geteuid(), kWrite, notes, warnings);
        REQUIRE(rules.size() == 1);
        CHECK(rules[0].access == (kRead | kWrite));
        REQUIRE(notes.size() == 3);
        CHECK_THAT(notes[0], Catch::Contains("hidden by its mount only"));
    }
    SECTION("owned by another user: file permissions stand in") {
        std::vector<LandlockRule> rules = {{tr.root, kRead, "read"}};
        grant_around_hidden(rules, tr.hidden(), ::geteuid() + 1, kWrite, notes, warnings);
        REQUIRE(rules.size() == 1);
        CHECK(rules[0].access == kRead);
        CHECK(notes.empty());
    }
}

// An earlier session that may write a directory on the way (coding-agent's
// ~/.cache) filled it past the limit: the split switched itself off and
// the host's new ~/.netrc was readable. Past the limit, entries are now
// left out instead, and said so.
TEST_CASE("hidden split: past the most entries, the rest are not granted - the split stays") {
    Tree tr;
    std::filesystem::create_directory(tr.root + "/full");
    for (int i = 0; i < 20010; ++i) std::ofstream(tr.root + "/full/e" + std::to_string(i));
    std::vector<std::string> hidden = tr.hidden();
    hidden.push_back(tr.root + "/full/.token");
    std::vector<LandlockRule> rules = {{tr.root, kRead, "read"}};
    std::vector<std::string> notes, warnings;
    grant_around_hidden(rules, hidden, ::geteuid(), kWrite, notes, warnings);
    auto m = by_path(rules);
    CHECK(m[tr.root].access == LANDLOCK_ACCESS_FS_READ_DIR);
    CHECK(m[tr.root + "/full"].access == LANDLOCK_ACCESS_FS_READ_DIR);
    CHECK_FALSE(m.count(tr.root + "/.netrc"));
    CHECK(rules.size() <= 20000 + 4);
    REQUIRE(warnings.size() == 1);
    CHECK_THAT(warnings[0], Catch::Contains("entries of " + tr.root + "/full are not readable"));
}

// A hidden dotfile kept elsewhere (stow, yadm): git's credential store
// writes next to where the link leads, so that is hidden too.
TEST_CASE("hidden split: a hidden symlink is hidden where it leads as well, dangling or not, link by link") {
    Tree tr;
    std::filesystem::create_directory(tr.root + "/dotfiles");
    tr.t.write("dotfiles/git-credentials", "x");
    std::filesystem::create_symlink("dotfiles/git-credentials", tr.root + "/.git-credentials");
    std::filesystem::create_symlink(tr.root + "/dotfiles/gone/token", tr.root + "/.token");
    // A chain that ends nowhere yet: every link of it, and its end.
    std::filesystem::create_symlink("dotfiles/pgpass", tr.root + "/.pgpass");
    std::filesystem::create_symlink("../vault/pgpass", tr.root + "/dotfiles/pgpass");
    PathRule a, b, c;
    a.path = tr.root + "/.git-credentials";
    b.path = tr.root + "/.token";
    c.path = tr.root + "/.pgpass";
    auto hidden = resolved_hidden_paths({a, b, c});
    CHECK(hidden == std::vector<std::string>{a.path, tr.root + "/dotfiles/git-credentials", b.path,
                                             tr.root + "/dotfiles/gone/token", c.path, tr.root + "/dotfiles/pgpass",
                                             tr.root + "/vault/pgpass"});
}
