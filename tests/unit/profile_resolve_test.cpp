// Profile resolution: lookup, `extends`, variables, path checks, the shipped
// profiles.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "profile/builtin_profiles.h"
#include "profile/loader.h"
#include "tempdir.h"

using namespace sandboxd;
using sandboxd::test::TempDir;

namespace {

struct Fixture {
    TempDir dir{"sandboxd-profiles"};
    TempDir ws{"sandboxd-ws"};
    ProfileLoader loader{{dir.path()}};
    ProfileVars vars{ws.path(), "/root"};

    Result<Profile> load(const std::string& ref) { return loader.load(ref, vars); }
    std::string error(const std::string& ref) {
        auto r = load(ref);
        REQUIRE_FALSE(r.ok());
        return r.error().message;
    }
};

bool has_path(const std::vector<PathRule>& v, const std::string& p) {
    for (const auto& r : v)
        if (r.path == p) return true;
    return false;
}

}  // namespace

TEST_CASE("shipped profiles resolve and mean what their names say") {
    Fixture f;
    REQUIRE(builtin_profiles().size() >= 3);
    for (const auto& b : builtin_profiles()) {
        INFO(b.name);
        auto p = f.load(std::string(b.name));
        REQUIRE(p.ok());
        CHECK(p->name == b.name);
    }
    auto ro = f.load("readonly");
    REQUIRE(ro.ok());
    CHECK(has_path(ro->read, "/"));
    CHECK(ro->write.empty());
    CHECK(ro->destroy.empty());
    CHECK(ro->connect.empty());

    auto ws = f.load("workspace");
    REQUIRE(ws.ok());
    CHECK(ws->chain.size() == 2);
    CHECK(has_path(ws->write, f.ws.path()));
    CHECK(has_path(ws->destroy, f.ws.path()));
    CHECK(has_path(ws->protect, f.ws.path() + "/.git/hooks"));
    CHECK(has_path(ws->hide, "/etc/shadow"));  // inherited from readonly
    CHECK(ws->connect.empty());
    CHECK_FALSE(has_path(ws->read, "/"));

    // Where code runs later as the user: git's own files, also a
    // submodule's and a linked worktree's, and $HOME's start-up files,
    // PATH directories, editors', debuggers' and credential helpers'.
    for (const char* rel : {"/.git/hooks", "/.git/config", "/.git/commondir", "/.git/config.worktree", "/.git/modules",
                            "/.git/worktrees"})
        CHECK(has_path(ws->protect, f.ws.path() + rel));
    for (const char* rel : {"/.bashrc", "/.bash_aliases", "/.profile", "/.zshrc", "/.ssh", "/.gitconfig", "/.config/git",
                            "/.local/bin", "/.local/lib", "/.cargo/bin", "/.cargo/env", "/.nvm", "/.pyenv", "/go/bin",
                            "/.config/systemd", "/.local/share/systemd", "/.config/autostart", "/.vimrc",
                            "/.config/nvim", "/.emacs.d", "/.gdbinit", "/.ipython", "/.vscode", "/.kube", "/.aws",
                            "/.docker", "/.gnupg", "/.npmrc", "/.config/pip", "/.lesskey", "/.config/lesskey",
                            "/.psqlrc", "/.config/mimeapps.list"}) {
        INFO(rel);
        CHECK(has_path(ws->protect, std::string("/root") + rel));
    }

    auto ca = f.load("coding-agent");
    REQUIRE(ca.ok());
    CHECK(ca->chain.size() == 3);
    CHECK_FALSE(ca->connect.empty());
    CHECK(ca->tier == 3);
    CHECK(has_path(ca->exec_allow, "/usr/bin"));
}

TEST_CASE("extends: a child's keys replace the parent's / the rest is inherited") {
    Fixture f;
    f.dir.write("base.toml",
                "name='base'\ntier=3\n[filesystem]\nread=['/usr']\nwrite=['${WORKSPACE}']\n"
                "[limits]\npids=10\nmemory='64M'\n");
    f.dir.write("child.toml", "name='child'\nextends='base'\n[limits]\npids=20\n");
    auto p = f.load("child");
    REQUIRE(p.ok());
    CHECK(p->name == "child");
    CHECK(p->tier == 3);
    CHECK(*p->limits.pids == 20);
    CHECK(*p->limits.memory_bytes == 64ull << 20);
    CHECK(has_path(p->write, f.ws.path()));
    CHECK(p->chain.back() == f.dir / "base.toml");
}

TEST_CASE("extends by relative path is resolved next to the extending file") {
    Fixture f;
    f.dir.write("base.toml", "name='base'\n[filesystem]\nread=['/usr']\n");
    f.dir.write("child.toml", "name='child'\nextends='./base.toml'\n");
    auto p = f.load(f.dir / "child.toml");
    REQUIRE(p.ok());
    CHECK(has_path(p->read, "/usr"));
}

TEST_CASE("extends errors: missing parent / cycles / depth") {
    Fixture f;
    f.dir.write("orphan.toml", "name='orphan'\nextends='nosuch'\n");
    CHECK_THAT(f.error("orphan"), Catch::StartsWith(f.dir / "orphan.toml:2:9: extends: no profile named 'nosuch'"));
    f.dir.write("a.toml", "name='a'\nextends='b'\n");
    f.dir.write("b.toml", "name='b'\nextends='a'\n");
    CHECK_THAT(f.error("a"), Catch::Contains("extends: 'a' makes a cycle"));
    for (int i = 0; i < 10; ++i)
        f.dir.write("d" + std::to_string(i) + ".toml",
                    "name='d" + std::to_string(i) + "'\nextends='d" + std::to_string(i + 1) + "'\n");
    f.dir.write("d10.toml", "name='d10'\n");
    CHECK_THAT(f.error("d0"), Catch::Contains("deeper than 8"));
}

TEST_CASE("variables expand / unknown variables and relative paths are refused") {
    Fixture f;
    f.dir.write("vars.toml", "name='v'\n[filesystem]\nread=['${WORKSPACE}/../', '-${HOME}/nothing-here']\n");
    auto p = f.load("vars");
    REQUIRE(p.ok());
    CHECK(p->read[0].path == "/tmp");
    CHECK(p->read[1].optional);
    CHECK_FALSE(p->read[1].exists);

    f.dir.write("badvar.toml", "name='v'\n[filesystem]\nread=['${WORKDIR}/x']\n");
    CHECK(f.error("badvar") == f.dir / "badvar.toml:3:7: filesystem.read: unknown variable ${WORKDIR}; "
                                       "expected ${WORKSPACE} or ${HOME}");
    f.dir.write("dollar.toml", "name='v'\n[filesystem]\nread=['/usr/$x']\n");
    CHECK_THAT(f.error("dollar"), Catch::Contains("has a '$' that is not a ${VARIABLE}"));
    f.dir.write("rel.toml", "name='v'\n[exec]\nallow=['usr/bin']\n");
    CHECK_THAT(f.error("rel"), Catch::Contains("exec.allow: 'usr/bin' is not absolute; expected an absolute path"));
}

TEST_CASE("a missing path is an error unless marked optional") {
    Fixture f;
    f.dir.write("missing.toml", "name='m'\n[filesystem]\nread=['/usr', '/no/such/dir']\n");
    CHECK(f.error("missing") ==
          f.dir / "missing.toml:3:15: filesystem.read: path /no/such/dir does not exist; expected an absolute "
                  "path, or one starting with ${WORKSPACE} or ${HOME}; prefix with '-' to skip it when missing");
}

TEST_CASE("contradictions are refused: destroy outside write / allow and deny overlapping") {
    Fixture f;
    f.dir.write("d.toml", "name='d'\n[filesystem]\nwrite=['${WORKSPACE}']\ndestroy=['/tmp']\n");
    CHECK_THAT(f.error("d"), Catch::Contains("filesystem.destroy: /tmp is not inside any write tree"));
    f.dir.write("s.toml", "name='s'\n[syscalls]\ndeny=['@debug']\nallow=['ptrace']\n");
    CHECK_THAT(f.error("s"), Catch::Contains("syscalls.allow: 'ptrace' contradicts syscalls.deny (ptrace)"));
}

TEST_CASE("events: reads are journaled on request / only with the file events on") {
    Fixture f;
    f.dir.write("r.toml", "name='r'\n[events]\nreads = true\n");
    auto p = f.load("r");
    REQUIRE(p.ok());
    CHECK(p->events.reads);
    CHECK(p->events.files);
    CHECK_THAT(format_profile(*p), Catch::Contains("reads = true"));
    f.dir.write("child.toml", "name='child'\nextends='r'\n");
    CHECK(f.load("child")->events.reads);  // inherited
    CHECK_FALSE(f.load("workspace")->events.reads);  // off by default
    f.dir.write("off.toml", "name='off'\n[events]\nfiles = false\nreads = true\n");
    CHECK_THAT(f.error("off"), Catch::Contains("off.toml:4:") && Catch::Contains("events.reads: reads are journaled by "
                                                                                   "the file events"));
    f.dir.write("bad.toml", "name='bad'\n[events]\nreads = 'yes'\n");
    CHECK_THAT(f.error("bad"), Catch::Contains("events.reads: a string; expected true or false"));
}

TEST_CASE("lookup: names are not paths / files on disk win over built-ins / missing names are explained") {
    Fixture f;
    CHECK_THAT(f.error("../etc/passwd"), Catch::Contains("cannot read profile"));
    CHECK_THAT(f.error("no such"), Catch::Contains("is not a profile name"));
    CHECK_THAT(f.error("nosuch"), Catch::Contains("no profile named 'nosuch' (looked in " + f.dir.path()));
    f.dir.write("readonly.toml", "name='readonly'\ndescription='local override'\n");
    auto p = f.load("readonly");
    REQUIRE(p.ok());
    CHECK(p->description == "local override");
    f.dir.write("noname.toml", "tier=2\n");
    CHECK_THAT(f.error("noname"), Catch::Contains("name: missing"));
}

TEST_CASE("format_profile prints the resolved scopes") {
    Fixture f;
    auto p = f.load("workspace");
    REQUIRE(p.ok());
    std::string text = format_profile(*p);
    CHECK_THAT(text, Catch::Contains("write = [\"" + f.ws.path() + "\"]"));
    CHECK_THAT(text, Catch::Contains("connect = []  # no network"));
    CHECK_THAT(text, Catch::Contains("# resolved from builtin:workspace <- builtin:readonly"));
}
