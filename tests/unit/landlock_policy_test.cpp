// The profile -> Landlock rules mapping, without the kernel.
#include <catch2/catch.hpp>

#include "landlock/abi.h"
#include "landlock/policy.h"
#include "profile/loader.h"

using namespace sandboxd;

namespace {

PathRule rule(const std::string& p) {
    PathRule r;
    r.path = p;
    return r;
}

const LandlockRule* find(const LandlockPolicy& p, const std::string& path) {
    for (const auto& r : p.fs_rules)
        if (r.path == path) return &r;
    return nullptr;
}

Profile workspace_like() {
    Profile p;
    p.read = {rule("/usr"), rule("/tmp")};
    p.write = {rule("/tmp")};
    p.destroy = {rule("/tmp")};
    p.exec_allow = {rule("/usr")};
    return p;
}

}  // namespace

TEST_CASE("landlock: rights per scope / unioned per path") {
    auto pol = compile_landlock(workspace_like(), 7, 0);
    REQUIRE(pol.missing.empty());
    const auto* usr = find(pol, "/usr");
    REQUIRE(usr);
    CHECK(usr->access == (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_EXECUTE));
    CHECK(usr->why == "read+exec");
    const auto* tmp = find(pol, "/tmp");
    REQUIRE(tmp);
    CHECK((tmp->access & LANDLOCK_ACCESS_FS_REMOVE_FILE));
    CHECK((tmp->access & LANDLOCK_ACCESS_FS_TRUNCATE));
    CHECK((tmp->access & LANDLOCK_ACCESS_FS_MAKE_REG));
    CHECK_FALSE((tmp->access & LANDLOCK_ACCESS_FS_EXECUTE));
    CHECK_FALSE((tmp->access & LANDLOCK_ACCESS_FS_MAKE_BLOCK));
    CHECK_FALSE((tmp->access & LANDLOCK_ACCESS_FS_MAKE_CHAR));
    CHECK((pol.handled_fs & LANDLOCK_ACCESS_FS_TRUNCATE));
    CHECK_FALSE((pol.handled_fs & LANDLOCK_ACCESS_FS_IOCTL_DEV));
    const auto* null = find(pol, "/dev/null");
    REQUIRE(null);
    CHECK(null->access == (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE));
}

// Truncation in a write tree is the snapshot gate's to decide (every way to
// it passes the gate, which lets the agent cut only what it made).
TEST_CASE("landlock: write without destroy grants truncate (the gate decides) / no remove or refer") {
    Profile p;
    p.write = {rule("/tmp")};
    auto pol = compile_landlock(p, 7, 0);
    const auto* tmp = find(pol, "/tmp");
    REQUIRE(tmp);
    CHECK((tmp->access & LANDLOCK_ACCESS_FS_WRITE_FILE));
    CHECK((tmp->access & LANDLOCK_ACCESS_FS_TRUNCATE));
    CHECK_FALSE((tmp->access & LANDLOCK_ACCESS_FS_REMOVE_FILE));
    CHECK_FALSE((tmp->access & LANDLOCK_ACCESS_FS_REFER));
}

TEST_CASE("landlock: an ABI that cannot express the profile is reported / not weakened") {
    auto none = compile_landlock(workspace_like(), 0, 0);
    REQUIRE(none.missing.size() == 1);
    CHECK(none.missing[0].id == "landlock");
    CHECK_THAT(none.missing[0].what, Catch::Contains("CONFIG_SECURITY_LANDLOCK"));
    auto old = compile_landlock(workspace_like(), 2, 0);
    REQUIRE(old.missing.size() == 1);
    CHECK(old.missing[0].id == "landlock-truncate");
    CHECK_THAT(old.missing[0].what, Catch::Contains("needs ABI 3"));
    Profile readonly;
    readonly.read = {rule("/")};
    CHECK(compile_landlock(readonly, 2, 0).missing.empty());
}

TEST_CASE("landlock: TCP ports from connect entries / none means no TCP") {
    Profile p;
    auto none = compile_landlock(p, 7, 0);
    CHECK(none.handled_net == (landlock::kNetBindTcp | landlock::kNetConnectTcp));
    CHECK(none.connect_ports.empty());
    auto a = parse_net_rule("127.0.0.1:8000-8002");
    auto b = parse_net_rule("[::1]:8001");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    p.connect = {*a, *b};
    auto some = compile_landlock(p, 7, 0);
    CHECK(some.connect_ports == std::vector<uint16_t>{8000, 8001, 8002});
    auto any = parse_net_rule("10.0.0.0/8:*");
    p.connect = {*any};
    auto wide = compile_landlock(p, 7, 0);
    CHECK_FALSE((wide.handled_net & landlock::kNetConnectTcp));
    CHECK_FALSE(wide.notes.empty());
    CHECK(compile_landlock(p, 3, 0).handled_net == 0);
}

TEST_CASE("landlock: missing optional paths get no rule / files get file rights only") {
    Profile p;
    PathRule gone = rule("/no/such");
    gone.optional = true;
    gone.exists = false;
    p.read = {gone, rule("/etc/hostname")};
    auto pol = compile_landlock(p, 7, 0);
    CHECK_FALSE(find(pol, "/no/such"));
    const auto* f = find(pol, "/etc/hostname");
    REQUIRE(f);
    CHECK(f->access == LANDLOCK_ACCESS_FS_READ_FILE);
}

#include "profile/scope_check.h"

TEST_CASE("scope check: the rule that would deny / for audit mode") {
    Profile p;
    p.read = {rule("/usr"), rule("/tmp")};
    p.write = {rule("/tmp")};
    p.destroy = {rule("/tmp/scratch")};
    p.protect = {rule("/tmp/.git")};
    p.hide = {rule("/tmp/secret")};
    p.exec_allow = {rule("/usr/bin")};
    CHECK_FALSE(would_deny(p, FileAccess::Read, "/usr/lib/x"));
    CHECK(*would_deny(p, FileAccess::Read, "/etc/passwd") == "filesystem.read: outside every read tree");
    CHECK_FALSE(would_deny(p, FileAccess::Write, "/tmp/a"));
    CHECK(*would_deny(p, FileAccess::Write, "/usr/a") == "filesystem.write: outside every write tree");
    CHECK(*would_deny(p, FileAccess::Destroy, "/tmp/a") == "filesystem.destroy: outside every destroy tree");
    CHECK_FALSE(would_deny(p, FileAccess::Destroy, "/tmp/scratch/a"));
    CHECK(*would_deny(p, FileAccess::Write, "/tmp/.git/config") == "filesystem.protect");
    CHECK(*would_deny(p, FileAccess::Read, "/tmp/secret/key") == "filesystem.hide");
    CHECK_FALSE(would_deny(p, FileAccess::Exec, "/usr/bin/true"));
    CHECK(*would_deny(p, FileAccess::Exec, "/tmp/true") == "exec.allow: outside every exec tree");
}
