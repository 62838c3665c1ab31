// sandboxctl profile check FILE...: validate and print the resolved profile.
#include <unistd.h>

#include "commands.h"
#include "launch/identity.h"
#include "policy/seccomp_policy.h"
#include "profile/loader.h"

namespace sandboxctl {

Action add_profile(CLI::App& app) {
    auto* cmd = app.add_subcommand("profile", "Work with scope profiles");
    cmd->require_subcommand(1);
    auto* check = cmd->add_subcommand("check", "Validate profiles and print them resolved");
    struct Opts {
        std::vector<std::string> files;
        std::optional<std::string> workspace;
        std::optional<std::string> user;
        bool quiet = false;
    };
    auto o = std::make_shared<Opts>();
    check->add_option("profile", o->files, "Profile names or .toml paths")->required();
    check->add_option("--workspace,-w", o->workspace, "Value of ${WORKSPACE} (default: current directory)");
    check->add_option("--user,-u", o->user, "Whose ${HOME} to use (default: as sandbox-run would)");
    check->add_flag("--quiet,-q", o->quiet, "Print only errors");
    return [o] {
        auto id = sandboxd::resolve_identity(o->user);
        if (!id) {
            complain(id.error().describe());
            return 2;
        }
        char cwd[4096];
        std::string ws = o->workspace.value_or(::getcwd(cwd, sizeof cwd) ? cwd : "/");
        auto loader = sandboxd::ProfileLoader::with_default_path();
        int rc = 0;
        for (const auto& f : o->files) {
            auto p = loader.load(f, sandboxd::ProfileVars{ws, id->home, id->uid, id->gid, id->groups});
            if (!p) {
                complain(p.error().describe());
                rc = 1;
                continue;
            }
            // Compiling proves the syscall rules are expressible here.
            auto prog = sandboxd::compile_seccomp(p->syscalls, false);
            if (!prog) {
                complain(f + ": " + prog.error().describe());
                rc = 1;
                continue;
            }
            if (!o->quiet) std::printf("%s\n", sandboxd::format_profile(*p).c_str());
            else std::printf("%s: ok\n", f.c_str());
        }
        return rc;
    };
}

}  // namespace sandboxctl
