// A file-scope scene for tests that attack it from inside a session: a
// workspace and a directory outside every scope, both owned by the agent's
// uid, so that file permissions would allow every attack and only the
// sandbox can stop it; probes run tests/testcases/fs_escape.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "session_helpers.h"

namespace sandboxd::test {

struct Scene {
    Host h;
    // Outside /tmp: the session's private /tmp would hide it, and these
    // attacks must meet the sandbox, not a missing file.
    TempDir outside{"sandboxd-outside", "/var/tmp"};

    Scene() {
        for (const auto& d : {outside.path()}) {
            REQUIRE(chown(d.c_str(), kAgentUid, kAgentGid) == 0);
            REQUIRE(chmod(d.c_str(), 0755) == 0);
        }
        plant(outside / "secret.txt", "secret");
        plant(h.ws / "existing.txt", "old");
        plant(h.ws / "victim.txt", "victim");
        std::filesystem::copy_file("/bin/true", h.ws / "true-copy");
        REQUIRE(chown((h.ws / "true-copy").c_str(), kAgentUid, kAgentGid) == 0);
        REQUIRE(chmod((h.ws / "true-copy").c_str(), 0755) == 0);
        std::filesystem::copy_file("/bin/true", outside / "true-copy");
        REQUIRE(chown((outside / "true-copy").c_str(), kAgentUid, kAgentGid) == 0);
        REQUIRE(chmod((outside / "true-copy").c_str(), 0755) == 0);
    }

    void plant(const std::string& path, const std::string& text) {
        std::ofstream(path) << text;
        REQUIRE(chown(path.c_str(), kAgentUid, kAgentGid) == 0);
    }

    std::map<std::string, std::string> probe(const std::vector<std::string>& opts,
                                             const std::vector<std::string>& probes) {
        std::vector<std::string> args = opts;
        args.insert(args.end(), {"--user", kAgentUser, "--workspace", h.ws.path(), "--",
                                 testcase("fs_escape"), outside.path()});
        args.insert(args.end(), probes.begin(), probes.end());
        return h.run_probes(args);
    }

    std::string secret() const { return *sandboxd::read_file(outside / "secret.txt"); }
};

}  // namespace sandboxd::test
