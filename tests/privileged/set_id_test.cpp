// No session leaves a set-uid or set-gid file behind, whatever its profile:
// the session's own mounts are nosuid, the host's are not, and such a file
// in a write tree runs as the agent's user for every account on the host.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/file_io.h"
#include "journal/journal.h"
#include "session_helpers.h"

using namespace sandboxd::test;

// A set-user-id file the agent leaves in the workspace runs as the agent's
// user for anyone on the host who finds it (the session's own mounts are
// nosuid; the host's are not): a way in for every other local account,
// until someone rolls back. A red-team finding: chmod 4755 of a copy of
// id(1) worked, and the host's nobody ran it with the agent's euid.
TEST_CASE("no set-id file is made: chmod u+s and g+s on files refused, creates lose the bits, directories keep g+s") {
    Host h;
    auto r = agent_sh(h,
                      "cp /bin/true ./t && chmod 755 ./t && echo copied; "
                      "chmod 4755 ./t 2>/dev/null || echo suid-refused; chmod 2755 ./t 2>/dev/null || echo sgid-refused; "
                      "chmod u+s ./t 2>/dev/null || echo plus-refused; "
                      "mkdir shared && chmod 2775 shared && echo dir-sgid; "
                      "python3 -c \"import os; os.close(os.open('made', os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o6755))\" && "
                      "echo created");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "copied\nsuid-refused\nsgid-refused\nplus-refused\ndir-sgid\ncreated\n");
    struct stat st{};
    REQUIRE(stat((h.ws / "t").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    REQUIRE(stat((h.ws / "made").c_str(), &st) == 0);
    CHECK((st.st_mode & (S_ISUID | S_ISGID)) == 0);
    REQUIRE(stat((h.ws / "shared").c_str(), &st) == 0);
    CHECK((st.st_mode & S_ISGID) != 0);
    // Each refusal is on the record, with its rule.
    auto lines = sandboxd::read_journal(h.dirs().journal_path(only_session(h)));
    REQUIRE(lines.ok());
    int refused = 0;
    for (const auto& l : *lines)
        if (l.value.value("action", "") == "file.chmod" && l.value.value("decision", "") == "deny" &&
            l.value.value("rule", "") == "set-id files" && l.value.value("errno", 0) == EPERM)
            ++refused;
    CHECK(refused == 3);
}

// The same where no snapshot gate runs (no write tree: the session's own
// /tmp; helper 40 found chmod 4755 worked under a profile with write but
// no destroy trees, which had no gate then), where the gate runs but sees
// no create (no protected path missing), and where it sees every create.
// Every way to set the bits: chmod, and the mode of an exclusive create, of
// mknod and of an O_TMPFILE open.
TEST_CASE("no set-id file is made under any profile: chmod refused, creates refused or made without the bits") {
    Host h;
    struct Case {
        std::string name, text;
        bool gate;  // creates made without the bits (else refused)
        std::string dir = ".";  // where the agent makes its files
    };
    const std::string read = "read = ['/usr', '/etc', '-/bin', '-/sbin', '-/lib', '-/lib64', '/dev', '/proc', '${WORKSPACE}']\n";
    std::vector<Case> cases = {
        // No write tree, so no snapshot gate: in the session's own /tmp.
        {"ro-tmp", "name = 'ro-tmp'\nextends = 'readonly-t'\n[filesystem]\n" + read, false, "/tmp"},
        {"write-only", "name = 'write-only'\nextends = 'readonly-t'\n[filesystem]\n" + read + "write = ['${WORKSPACE}']\n", true},
        {"no-create-gate", "name = 'no-create-gate'\nextends = 'readonly-t'\n[filesystem]\n" + read +
                               "write = ['${WORKSPACE}']\ndestroy = ['${WORKSPACE}']\n", true},
        {"workspace", "", true},
    };
    const std::string script =
        "cp /bin/true ./t && chmod 755 ./t && echo copied; "
        "chmod 4755 ./t 2>/dev/null || echo suid-refused; chmod g+s ./t 2>/dev/null || echo sgid-refused; "
        "python3 -c \"\nimport os\n"
        "def tryit(name, f):\n    try:\n        f(); print(name, 'ok')\n    except OSError as e: print(name, e.errno)\n"
        "tryit('excl', lambda: os.close(os.open('excl', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o4755)))\n"
        "tryit('readcreat', lambda: os.close(os.open('readcreat', os.O_CREAT | os.O_RDONLY, 0o2755)))\n"
        "tryit('mknod', lambda: os.mknod('node', 0o100000 | 0o6755))\n"
        "tryit('tmpfile', lambda: os.close(os.open('.', os.O_TMPFILE | os.O_WRONLY, 0o4755)))\n\"";
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.name) {
            std::string profile = c.text.empty() ? h.workspace_profile : h.profile(c.name, c.text);
            auto r = h.run({"--user", kAgentUser, "--profile", profile, "--workspace", h.ws.path(), "--", "sh", "-c",
                            "cd " + c.dir + " && " + script});
            INFO(r.out << r.err);
            REQUIRE(r.status == 0);
            if (c.gate)
                CHECK(r.out == "copied\nsuid-refused\nsgid-refused\nexcl ok\nreadcreat ok\nmknod ok\ntmpfile ok\n");
            else
                CHECK(r.out == "copied\nsuid-refused\nsgid-refused\nexcl 1\nreadcreat 1\nmknod 1\ntmpfile 1\n");
            for (const char* name : {"t", "excl", "readcreat", "node"}) {
                struct stat st{};
                if (::stat((h.ws / name).c_str(), &st) != 0) continue;  // refused
                INFO(name);
                CHECK((st.st_mode & (S_ISUID | S_ISGID)) == 0);
            }
            // The refusals are on the record, each with the rule.
            auto lines = sandboxd::read_journal(h.dirs().journal_path(only_session(h)));
            REQUIRE(lines.ok());
            int refused = 0;
            for (const auto& l : *lines)
                if (l.value.value("decision", "") == "deny" && l.value.value("errno", 0) == EPERM &&
                    l.value.value("rule", "").ends_with("set-id files"))
                    ++refused;
            CHECK(refused >= 2);
        }
    }
}

// Audit mode lets what the profile denies through, logged: a profile that
// denied fchmodat2 (or openat2, whose mode the filter cannot read) had it
// go past the set-id rule, and chmod 4755 by fchmodat2 made a set-uid
// file (helper 42). Those calls keep the baseline's answer instead.
TEST_CASE("no set-id file in audit mode either - also when the profile denies fchmodat2 and openat2") {
    Host h;
    std::string p = h.profile("deny-new", "name = 'deny-new'\nextends = '" + h.workspace_profile +
                                              "'\n[syscalls]\ndeny = ['fchmodat2', 'openat2']\n");
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--audit", "--", "python3", "-c",
                    "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                    "open('t', 'w').close()\n"
                    "rc = libc.syscall(452, -100, b't', 0o4755, 0)\n"
                    "print('fchmodat2', rc, ctypes.get_errno() if rc else 0)\n"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "fchmodat2 -1 38\n");  // ENOSYS, as the gate's filter answers it
    struct stat st{};
    REQUIRE(stat((h.ws / "t").c_str(), &st) == 0);
    CHECK((st.st_mode & (S_ISUID | S_ISGID)) == 0);
}
