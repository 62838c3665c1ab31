#include <catch2/catch.hpp>

#include "session/record.h"

using namespace sandboxd;

namespace {
SessionRecord sample() {
    SessionRecord r;
    r.id = "0123456789ab";
    r.supervisor_pid = 10;
    r.supervisor_start = 99;
    r.cgroup = "/sys/fs/cgroup/unified/sandboxd/0123456789ab";
    r.cgroup_v1 = {"/sys/fs/cgroup/pids/sandboxd/0123456789ab"};
    r.argv = {"sh", "-c", "echo \"hi\""};
    return r;
}
}  // namespace

TEST_CASE("session records round-trip through JSON") {
    auto back = record_from_json(record_to_json(sample()), "t");
    REQUIRE(back.ok());
    CHECK(back->id == "0123456789ab");
    CHECK(back->argv[2] == "echo \"hi\"");
    CHECK(back->cgroup_v1.size() == 1);
}

TEST_CASE("a record pointing outside sandboxd's cgroups is refused") {
    // sandboxctl writes cgroup.kill and removes directories named in
    // records: a forged record must not steer it at another cgroup.
    auto r = sample();
    r.cgroup = "/sys/fs/cgroup/unified/system.slice";
    CHECK_FALSE(record_from_json(record_to_json(r), "t").ok());
    r = sample();
    r.cgroup = "/sys/fs/cgroup/unified/sandboxd/../init.scope/sandboxd/0123456789ab";
    CHECK_FALSE(record_from_json(record_to_json(r), "t").ok());
    r = sample();
    r.cgroup_v1 = {"/tmp/sandboxd/0123456789ab"};
    CHECK_FALSE(record_from_json(record_to_json(r), "t").ok());
    r = sample();
    r.id = "../../etc";
    CHECK_FALSE(record_from_json(record_to_json(r), "t").ok());
    CHECK_FALSE(record_from_json("{\"id\": 5}", "t").ok());
    CHECK_FALSE(record_from_json("not json", "t").ok());
}
