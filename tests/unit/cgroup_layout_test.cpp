#include <catch2/catch.hpp>

#include "cgroup/layout.h"

using namespace sandboxd;

TEST_CASE("cgroup layout: pure v2 under systemd") {
    auto h = parse_cgroup_mounts(
        "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
        "rw,nsdelegate,memory_recursiveprot\n");
    REQUIRE(h.ok());
    CHECK(h->layout == CgroupLayout::Unified);
    CHECK(h->v2_root == "/sys/fs/cgroup");
    CHECK(h->v2_base() == "/sys/fs/cgroup/sandboxd");
    CHECK(h->v1_mounts.empty());
}

TEST_CASE("cgroup layout: hybrid / v2 at unified and v1 controllers beside it") {
    auto h = parse_cgroup_mounts(
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "34 31 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "35 31 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "36 31 0:33 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
    REQUIRE(h.ok());
    CHECK(h->layout == CgroupLayout::Hybrid);
    CHECK(h->v2_root == "/sys/fs/cgroup/unified");
    CHECK(h->v1_mounts.at("pids") == "/sys/fs/cgroup/pids");
    CHECK(h->v1_mounts.at("memory") == "/sys/fs/cgroup/memory");
    CHECK(h->v1_mounts.at("cpu") == "/sys/fs/cgroup/cpu");
}

TEST_CASE("cgroup layout: no cgroup2 anywhere is an error that says how to fix it") {
    auto h = parse_cgroup_mounts("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
    REQUIRE_FALSE(h.ok());
    CHECK_THAT(h.error().message, Catch::Contains("mount -t cgroup2"));
    // A cgroup2 mount somewhere else (a container runtime's) is not ours.
    auto other = parse_cgroup_mounts("40 1 0:40 / /var/lib/x/cg rw - cgroup2 cgroup2 rw\n");
    CHECK_FALSE(other.ok());
}
