// Finding the other paths a hidden path is reached under (mounts/aliases.h),
// from mountinfo text.
#include <catch2/catch.hpp>

#include "mounts/aliases.h"

using namespace sandboxd;

namespace {

const char* kMountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "23 22 0:21 / /proc rw - proc proc rw\n"
    "30 22 8:1 /data/home /home rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "31 22 8:1 /data/home/u /mnt/u\\040copy rw - ext4 /dev/sda1 rw\n"
    "32 22 8:2 / /srv rw - ext4 /dev/sdb1 rw\n"
    "33 22 8:1 /etc /srv/etc rw - ext4 /dev/sda1 rw\n"
    "34 33 0:40 / /srv/etc tmpfs - tmpfs tmpfs rw\n";

}  // namespace

TEST_CASE("mount aliases: mountinfo lines, unescaped") {
    auto m = parse_mountinfo(kMountinfo);
    REQUIRE(m.size() == 7);
    CHECK(m[2].dev == "8:1");
    CHECK(m[2].root == "/data/home");
    CHECK(m[2].point == "/home");
    CHECK(m[3].point == "/mnt/u copy");
}

TEST_CASE("mount aliases: every other mount of the filesystem whose root holds the path") {
    auto m = parse_mountinfo(kMountinfo);
    // Reached as /home/u/.netrc: also on the root mount and the copy.
    CHECK(mount_aliases(m, "/home/u/.netrc") ==
          std::vector<std::string>{"/data/home/u/.netrc", "/mnt/u copy/.netrc"});
    // Reached where it is: the other two.
    CHECK(mount_aliases(m, "/data/home/u/.ssh") == std::vector<std::string>{"/home/u/.ssh", "/mnt/u copy/.ssh"});
    // A root that does not hold it, and another filesystem: none.
    CHECK(mount_aliases(m, "/home/v/.netrc") == std::vector<std::string>{"/data/home/v/.netrc"});
    CHECK(mount_aliases(m, "/srv/x").empty());
    // The directory a mount's root is: the mount point itself.
    CHECK(mount_aliases(m, "/data/home/u") == std::vector<std::string>{"/home/u", "/mnt/u copy"});
    // /etc/shadow is also at /srv/etc/shadow (whatever is stacked there).
    CHECK(mount_aliases(m, "/etc/shadow") == std::vector<std::string>{"/srv/etc/shadow"});
}
