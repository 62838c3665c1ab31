#include "session_helpers.h"

#include <dirent.h>

#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/file_io.h"
#include "base/time_util.h"

namespace sandboxd::test {

Host::Host() {
    REQUIRE(::chown(ws.path().c_str(), kAgentUid, kAgentGid) == 0);
    REQUIRE(::chmod(ws.path().c_str(), 0755) == 0);
    REQUIRE(::chmod(profiles_.path().c_str(), 0755) == 0);
    const std::string tc = TESTCASES_DIR;
    readonly_profile = profile("readonly-t",
                               "name = 'readonly-t'\nextends = 'readonly'\n[exec]\n"
                               "allow = ['/usr', '-/bin', '-/sbin', '-/lib', '-/lib64', '" + tc + "']\n");
    workspace_profile = profile(
        "workspace-t",
        "name = 'workspace-t'\nextends = 'workspace'\n[filesystem]\n"
        "read = ['/usr', '/etc', '-/bin', '-/sbin', '-/lib', '-/lib64', '-/opt', '/dev', '/proc', "
        "'/sys/devices/system/cpu', '${WORKSPACE}', '" + tc + "']\n"
        "[exec]\nallow = ['/usr', '-/bin', '-/sbin', '-/lib', '-/lib64', '" + tc + "']\n");
}

std::vector<std::string> Host::env() const {
    return {"SANDBOXD_RUNTIME_DIR=" + runtime.path(), "SANDBOXD_STATE_DIR=" + state.path(),
            "SANDBOXD_PROFILE_PATH=" + profiles_.path(), "SUDO_UID=", "SUDO_GID="};
}

SandboxdDirs Host::dirs() const {
    SandboxdDirs d;
    d.runtime = runtime.path();
    d.state = state.path();
    return d;
}

std::vector<std::string> Host::run_argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {SANDBOX_RUN};
    bool has_profile = false;
    for (const auto& a : args) {
        if (a == "--") break;
        has_profile = has_profile || a == "--profile" || a == "-p";
    }
    if (!has_profile) argv.insert(argv.end(), {"--profile", readonly_profile});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

ProcResult Host::run(const std::vector<std::string>& args, int timeout_ms) const {
    return sandboxd::test::run(run_argv(args), env(), timeout_ms);
}

ProcResult Host::ctl(const std::vector<std::string>& args, int timeout_ms) const {
    std::vector<std::string> argv = {SANDBOXCTL};
    argv.insert(argv.end(), args.begin(), args.end());
    return sandboxd::test::run(argv, env(), timeout_ms);
}

std::map<std::string, std::string> Host::run_probes(const std::vector<std::string>& args) const {
    auto r = run(args);
    INFO(r.err);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.out, Catch::Contains("probe-done"));
    std::map<std::string, std::string> out;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line) && line != "probe-done") {
        size_t sp = line.find(' ');
        if (sp != std::string::npos) out[line.substr(0, sp)] = line.substr(sp + 1);
    }
    return out;
}

std::vector<SessionView> Host::sessions() const {
    std::vector<std::string> problems;
    return list_sessions(dirs(), problems);
}

SessionView Host::wait_for_session(int procs, int timeout_ms) const {
    int64_t deadline = monotonic_nsec() + int64_t(timeout_ms) * 1000000;
    for (;;) {
        auto s = sessions();
        if (s.size() == 1 && s[0].processes >= procs) return s[0];
        if (monotonic_nsec() > deadline) {
            FAIL("no session with " << procs << " processes appeared (have " << s.size() << " sessions)");
        }
        sleep_ms(20);
    }
}

std::string Host::profile(const std::string& name, const std::string& text) const {
    profiles_.write(name + ".toml", text);
    return profiles_ / (name + ".toml");
}

std::string testcase(const std::string& name) { return std::string(TESTCASES_DIR) + "/" + name; }

bool path_exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

std::vector<std::string> list_dir(const std::string& p) {
    std::vector<std::string> out;
    DIR* d = ::opendir(p.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    ::closedir(d);
    return out;
}

int count_processes_with(const std::string& needle) {
    int n = 0;
    for (const auto& pid : list_dir("/proc")) {
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        auto cmd = read_file("/proc/" + pid + "/cmdline");
        if (!cmd) continue;
        std::replace(cmd->begin(), cmd->end(), '\0', ' ');
        if (cmd->starts_with(needle)) ++n;
    }
    return n;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace sandboxd::test
