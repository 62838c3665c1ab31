// The snapshot store's copies: whole, or dropped when their caller stops
// them (the gate does, for a session being frozen).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "base/file_io.h"
#include "base/unique_fd.h"
#include "snapshot/store.h"
#include "tempdir.h"

using sandboxd::SnapshotBudget;
using sandboxd::SnapshotStore;
using sandboxd::UniqueFd;
using sandboxd::test::TempDir;

namespace {

// Regular files anywhere below `dir`.
int files_below(const std::string& dir) {
    int n = 0;
    DIR* d = ::opendir(dir.c_str());
    REQUIRE(d);
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        struct stat st{};
        REQUIRE(::lstat((dir + "/" + name).c_str(), &st) == 0);
        if (S_ISDIR(st.st_mode)) n += files_below(dir + "/" + name);
        else ++n;
    }
    ::closedir(d);
    return n;
}

}  // namespace

TEST_CASE("snapshot store: a copy its caller stops is dropped, with ECANCELED, and its bytes given back") {
    TempDir dir("sandboxd-store");
    auto budget = std::make_shared<SnapshotBudget>();
    budget->limit = 1ull << 32;
    auto store = SnapshotStore::create(dir / "store", ::geteuid(), ::getegid(), budget);
    REQUIRE(store);
    // Three pieces of the copy (16 MiB each) and a bit.
    const std::string content(50 << 20, 'o');
    dir.write("big", content);
    UniqueFd in(::open((dir / "big").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(in);
    struct stat st{};
    REQUIRE(::fstat(in.get(), &st) == 0);

    SECTION("stopped after its first piece") {
        int asked = 0;
        auto copy = store->take_copy(in.get(), st, -1, [&] { return ++asked >= 1; });
        REQUIRE_FALSE(copy);
        CHECK(copy.error().code == ECANCELED);
        CHECK(asked == 1);
        CHECK(files_below(dir / "store") == 0);
        CHECK(budget->used == 0);
    }
    SECTION("stopped before its sync") {
        int asked = 0;
        auto copy = store->take_copy(in.get(), st, -1, [&] { return ++asked >= 4; });
        REQUIRE_FALSE(copy);
        CHECK(copy.error().code == ECANCELED);
        CHECK(files_below(dir / "store") == 0);
        CHECK(budget->used == 0);
    }
    SECTION("never stopped: the whole file") {
        int asked = 0;
        auto copy = store->take_copy(in.get(), st, -1, [&] { return ++asked > 100; });
        REQUIRE(copy);
        CHECK(asked == 4);  // between the pieces, and before the sync
        CHECK(*sandboxd::read_file(copy->path) == content);
        CHECK(budget->used == content.size());
    }
}
