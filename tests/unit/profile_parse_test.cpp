// Profile syntax: every key the format has, and every class of error with
// the file:line:column, the key and what was expected.
#include <catch2/catch.hpp>

#include "profile/loader.h"

using namespace sandboxd;

namespace {

std::string parse_error(const std::string& text) {
    auto r = parse_profile(text, "test.toml");
    REQUIRE_FALSE(r.ok());
    return r.error().message;
}

}  // namespace

TEST_CASE("a profile using every key parses into typed values") {
    auto r = parse_profile(R"(
version = 1
name = "full"
description = "all keys"
extends = "readonly"
tier = 3

[filesystem]
read = ["/usr", "${WORKSPACE}"]
write = ["${WORKSPACE}"]
destroy = ["${WORKSPACE}/scratch"]
protect = ["${WORKSPACE}/.git/hooks"]
hide = ["-/run/docker.sock"]

[exec]
allow = ["/usr/bin"]

[network]
connect = ["127.0.0.1:8080", "[::1]:53", "example.com:443"]

[syscalls]
deny = ["@privileged", "ptrace"]
allow = ["@io-uring"]

[events]
files = false

[limits]
memory = "512M"
pids = 64
cpu = 1.5

[approval]
timeout = "2m"
on_timeout = "freeze"
)",
                           "full.toml");
    REQUIRE(r.ok());
    const ProfileSpec& s = *r;
    CHECK(s.name->value == "full");
    CHECK(s.name->pos.line == 3);
    CHECK(s.extends->value == "readonly");
    CHECK(s.tier->value == 3);
    REQUIRE(s.read->size() == 2);
    CHECK((*s.read)[1].value == "${WORKSPACE}");
    CHECK((*s.hide)[0].value == "-/run/docker.sock");
    CHECK(s.exec_allow->size() == 1);
    REQUIRE(s.connect->size() == 3);
    CHECK((*s.connect)[2].kind == NetRule::Kind::Host);
    CHECK(s.syscall_deny->size() == 2);
    CHECK(s.syscall_allow->size() == 1);
    CHECK(*s.events_files == false);
    CHECK(*s.memory_bytes == 512ull << 20);
    CHECK(*s.pids == 64);
    CHECK(*s.cpu_millicores == 1500);
    CHECK(*s.approval_timeout_sec == 120);
    CHECK(*s.on_timeout == TimeoutAction::Freeze);
}

TEST_CASE("value spellings: sizes / durations / CPU amounts") {
    auto r = parse_profile("name='x'\n[limits]\nmemory = 2147483648\ncpu = \"250%\"\n[approval]\ntimeout = 45\n",
                           "t.toml");
    REQUIRE(r.ok());
    CHECK(*r->memory_bytes == 2ull << 30);
    CHECK(*r->cpu_millicores == 2500);
    CHECK(*r->approval_timeout_sec == 45);
    auto g = parse_profile("name='x'\n[limits]\nmemory = \"1GiB\"\n[approval]\ntimeout = \"1h\"\n", "t.toml");
    REQUIRE(g.ok());
    CHECK(*g->memory_bytes == 1ull << 30);
    CHECK(*g->approval_timeout_sec == 3600);
}

TEST_CASE("unknown keys are errors naming file / line / column / key and the known keys") {
    CHECK(parse_error("name = \"x\"\nnmae = \"y\"\n") ==
          "test.toml:2:1: nmae: unknown key; expected one of: version, name, description, extends, "
          "tier, filesystem, exec, network, syscalls, events, kernel, snapshots, limits, approval");
    CHECK(parse_error("name = \"x\"\n[filesystem]\nread = []\n  wirte = [\"/tmp\"]\n") ==
          "test.toml:4:3: filesystem.wirte: unknown key; expected one of: read, write, destroy, "
          "protect, hide");
    CHECK_THAT(parse_error("[network]\nconect = []\n"),
               Catch::StartsWith("test.toml:2:1: network.conect: unknown key; expected one of: connect"));
    CHECK_THAT(parse_error("[limits]\nmemroy = 1\n"), Catch::Contains("limits.memroy: unknown key"));
    CHECK_THAT(parse_error("[approval]\nwait = 1\n"), Catch::Contains("approval.wait: unknown key"));
    CHECK_THAT(parse_error("[events]\nfile = true\n"), Catch::Contains("events.file: unknown key; expected one of: files, reads"));
    CHECK_THAT(parse_error("[events]\nfiles = 1\n"), Catch::Contains("events.files: an integer; expected true or false"));
}

TEST_CASE("wrong types say what was found and what is expected") {
    CHECK(parse_error("name = 5\n") ==
          "test.toml:1:8: name: an integer; expected a name of lowercase letters, digits, '-', '_' and "
          "'.', starting with a letter or digit (at most 64)");
    CHECK_THAT(parse_error("[filesystem]\nread = \"/usr\"\n"),
               Catch::StartsWith("test.toml:2:8: filesystem.read: a string; expected a list of absolute paths"));
    CHECK_THAT(parse_error("[filesystem]\nread = [\"/usr\", 3]\n"),
               Catch::StartsWith("test.toml:2:17: filesystem.read: list holds an integer"));
    CHECK_THAT(parse_error("filesystem = 1\n"), Catch::Contains("filesystem: an integer; expected a table"));
    CHECK_THAT(parse_error("[filesystem]\nread = [\"\"]\n"), Catch::Contains("empty string"));
}

TEST_CASE("bad values: tier / version / name / limits / approval") {
    CHECK_THAT(parse_error("tier = 4\n"),
               Catch::Contains("tier: 4 is not a tier; expected 1 (agent drafts, human acts)"));
    CHECK_THAT(parse_error("version = 2\n"), Catch::Contains("version: unsupported profile version; expected 1"));
    CHECK_THAT(parse_error("name = \"Bad Name\"\n"), Catch::Contains("'Bad Name' is not a valid name"));
    CHECK_THAT(parse_error("[limits]\nmemory = \"lots\"\n"), Catch::Contains("'lots' is not a size"));
    CHECK_THAT(parse_error("[limits]\nmemory = 100\n"), Catch::Contains("too small"));
    CHECK_THAT(parse_error("[limits]\nmemory = -1\n"), Catch::Contains("must be positive"));
    CHECK_THAT(parse_error("[limits]\npids = 0\n"), Catch::Contains("limits.pids: 0 is out of range"));
    CHECK_THAT(parse_error("[limits]\ncpu = \"fast\"\n"), Catch::Contains("'fast' is not a CPU amount"));
    CHECK_THAT(parse_error("[limits]\ncpu = 0.0001\n"), Catch::Contains("limits.cpu: out of range"));
    CHECK_THAT(parse_error("[approval]\ntimeout = \"5w\"\n"), Catch::Contains("unknown unit"));
    CHECK_THAT(parse_error("[approval]\ntimeout = \"5d\"\n"), Catch::Contains("longer than 24h"));
    CHECK_THAT(parse_error("[snapshots]\nbudget = \"lots\"\n"), Catch::Contains("snapshots.budget"));
    CHECK_THAT(parse_error("[snapshots]\nretention = \"20000d\"\n"), Catch::Contains("snapshots.retention"));
    CHECK_THAT(parse_error("[snapshots]\nkeep = 1\n"), Catch::Contains("unknown key"));
    CHECK_THAT(parse_error("[events]\njournal_limit = \"lots\"\n"), Catch::Contains("events.journal_limit"));
    CHECK_THAT(parse_error("[events]\njournal_limit = 1000\n"), Catch::Contains("too small"));
    CHECK_THAT(parse_error("[approval]\ntimeout = \"48h\"\n"), Catch::Contains("longer than 24h"));
    CHECK_THAT(parse_error("[approval]\non_timeout = \"allow\"\n"),
               Catch::Contains("'allow' is not a timeout action; expected \"deny\", \"freeze\" or \"kill\""));
}

TEST_CASE("network and syscall entries are checked where they are written") {
    CHECK_THAT(parse_error("[network]\nconnect = [\"127.0.0.1:80\", \"10.1.0.0/8:443\"]\n"),
               Catch::StartsWith("test.toml:2:28: network.connect: '10.1.0.0/8:443' has address bits set"));
    CHECK_THAT(parse_error("[syscalls]\ndeny = [\"ptrace\", \"ptarce\"]\n"),
               Catch::StartsWith("test.toml:2:19: syscalls.deny: unknown syscall 'ptarce'; expected a "
                                 "syscall name of this architecture or one of @baseline"));
    CHECK_THAT(parse_error("[syscalls]\nallow = [\"@mounts\"]\n"),
               Catch::Contains("unknown syscall group '@mounts'"));
    // Internal argument-filtered rules are reachable only through groups.
    CHECK_THAT(parse_error("[syscalls]\nallow = [\"%personality\"]\n"), Catch::Contains("unknown syscall"));
}

TEST_CASE("TOML syntax errors carry the parser's position") {
    CHECK_THAT(parse_error("name = \"x\"\n[filesystem\n"), Catch::StartsWith("test.toml:2:"));
    CHECK_THAT(parse_error("name = \"x\"\n[filesystem\n"), Catch::Contains("invalid TOML"));
    CHECK_THAT(parse_error("name = \"x\"\nname = \"y\"\n"), Catch::StartsWith("test.toml:2:"));
}

TEST_CASE("text gate: profiles are ASCII - control characters and other bytes are refused before toml++") {
    // Found by libFuzzer: toml++ 3.3 hits __builtin_unreachable() on some
    // non-ASCII characters (tests/fuzz/regressions/profile holds the inputs).
    CHECK(parse_error("name = 'x'\xc2\xa1\n") ==
          "test.toml:1:11: non-ASCII byte 0xc2; expected ASCII text (write other characters as \\uXXXX in a "
          "double-quoted string)");
    CHECK_THAT(parse_error("name = 'x'\n\x1c\n"), Catch::StartsWith("test.toml:2:1: control character 28"));
    CHECK_THAT(parse_error("name = 'x' # caf\xc3\xa9\n"), Catch::StartsWith("test.toml:1:17: non-ASCII byte 0xc3"));
    CHECK_THAT(parse_error("name = \"\xff\"\n"), Catch::Contains("non-ASCII byte 0xff"));
    // Escapes carry any character; a byte order mark is fine.
    auto ok = parse_profile("\xEF\xBB\xBFname = 'x' # comment\ndescription = \"\\u2713 \\\" quoted\"\n"
                            "[filesystem]\nread = [\"/tmp/jos\\u00e9\"]\n",
                            "t.toml");
    REQUIRE(ok.ok());
    CHECK(ok->description->value == "\xe2\x9c\x93 \" quoted");
    CHECK((*ok->read)[0].value == "/tmp/jos\xc3\xa9");
}

TEST_CASE("kernel.accept_missing names the layers a profile may run without - and nothing else") {
    auto r = parse_profile("[kernel]\naccept_missing = [\"landlock-truncate\", \"unix-socket-hooks\"]\n", "test.toml");
    REQUIRE(r.ok());
    REQUIRE(r->accept_missing);
    REQUIRE(r->accept_missing->size() == 2);
    CHECK((*r->accept_missing)[0].value == "landlock-truncate");
    CHECK((*r->accept_missing)[1].value == "unix-socket-hooks");
    std::string unknown = parse_error("[kernel]\naccept_missing = [\"memfd-noexec\", \"seccomp\"]\n");
    CHECK_THAT(unknown, Catch::Contains("test.toml:2:35") && Catch::Contains("kernel.accept_missing") &&
                            Catch::Contains("unknown layer 'seccomp'") && Catch::Contains("\"memfd-noexec\""));
    CHECK_THAT(parse_error("[kernel]\naccept_missing = \"landlock\"\n"), Catch::Contains("kernel.accept_missing"));
    CHECK_THAT(parse_error("[kernel]\naccept_all = true\n"), Catch::Contains("kernel.accept_all"));
}
