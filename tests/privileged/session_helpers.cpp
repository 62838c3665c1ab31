#include "session_helpers.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
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

ProcResult agent_sh(const Host& h, const std::string& script, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "sh", "-c", script});
    return h.run(args);
}

std::string tree_state(const std::string& root) {
    std::vector<std::string> lines;
    std::vector<std::string> todo = {""};
    while (!todo.empty()) {
        std::string rel = todo.back();
        todo.pop_back();
        std::string dir = rel.empty() ? root : root + "/" + rel;
        std::vector<std::string> names;  // dotfiles too (.git)
        if (DIR* d = ::opendir(dir.c_str())) {
            while (dirent* e = ::readdir(d))
                if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") names.emplace_back(e->d_name);
            ::closedir(d);
        }
        for (const auto& name : names) {
            std::string r = rel.empty() ? name : rel + "/" + name;
            std::string full = root + "/" + r;
            struct stat st{};
            REQUIRE(::lstat(full.c_str(), &st) == 0);
            std::ostringstream line;
            line << r << " mode=" << std::oct << st.st_mode << std::dec << " uid=" << st.st_uid << " gid=" << st.st_gid;
            if (S_ISLNK(st.st_mode)) {
                char buf[4096];
                ssize_t n = ::readlink(full.c_str(), buf, sizeof buf);
                line << " -> " << std::string(buf, size_t(std::max<ssize_t>(n, 0)));
            } else if (S_ISREG(st.st_mode)) {
                auto content = sandboxd::read_file(full);
                REQUIRE(content);
                line << " size=" << content->size() << " hash=" << std::hash<std::string>{}(*content);
            } else if (S_ISDIR(st.st_mode)) {
                todo.push_back(r);
            }
            lines.push_back(line.str());
        }
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

void plant_file(const std::string& path, const std::string& text, mode_t mode) {
    size_t slash = path.find_last_of('/');
    std::string dir = path.substr(0, slash);
    std::vector<std::string> made;
    for (std::string d = dir; ::access(d.c_str(), F_OK) != 0; d = d.substr(0, d.find_last_of('/'))) made.push_back(d);
    for (auto it = made.rbegin(); it != made.rend(); ++it) {
        REQUIRE(::mkdir(it->c_str(), 0755) == 0);
        REQUIRE(::chown(it->c_str(), kAgentUid, kAgentGid) == 0);
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    REQUIRE(::chown(path.c_str(), kAgentUid, kAgentGid) == 0);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string only_session(const Host& h) {
    auto ids = list_dir(h.state / "sessions");
    REQUIRE(ids.size() == 1);
    return ids.front();
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

ProcResult Host::run_meanwhile(const std::vector<std::string>& args, const std::function<void()>& meanwhile) const {
    ProcResult r;
    std::thread session([&] { r = run(args); });
    meanwhile();
    session.join();
    return r;
}

void wait_for_path(const std::string& path) {
    for (int i = 0; i < 800 && !path_exists(path); ++i) sleep_ms(25);
}

std::string shell_wait_for(const std::string& name) {
    return "i=0; while [ ! -e " + shell_word(name) + " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; ";
}

std::string shell_word(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

ProcResult Host::run_redirected(const std::vector<std::string>& args, const std::string& redirections) const {
    std::string cmd;
    for (const auto& a : run_argv(args)) cmd += shell_word(a) + " ";
    return sandboxd::test::run({"/bin/sh", "-c", cmd + redirections}, env());
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

std::multiset<std::string> contents_below(const std::string& root) {
    std::multiset<std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file()) out.insert(*sandboxd::read_file(it->path()));
    return out;
}

std::multiset<std::string> difference(const std::multiset<std::string>& a, const std::multiset<std::string>& b) {
    std::multiset<std::string> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
    return out;
}

std::vector<std::string> orphans_in(const std::string& rollback_out) {
    std::vector<std::string> out;
    std::istringstream in(rollback_out);
    std::string line;
    const std::string mark = "orphan    keep ";
    while (std::getline(in, line)) {
        auto at = line.find(mark);
        if (at == std::string::npos) continue;
        at += mark.size();
        out.push_back(line.substr(at, line.find(" (", at) - at));
    }
    return out;
}

std::multiset<std::string> orphan_contents(const std::string& rollback_out) {
    std::multiset<std::string> out;
    for (const auto& path : orphans_in(rollback_out)) {
        struct stat st{};
        if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            auto inside = contents_below(path);
            out.insert(inside.begin(), inside.end());
        } else if (auto text = read_file(path)) {
            out.insert(*text);
        } else {
            out.insert("unreadable: " + path);
        }
    }
    return out;
}

Unmount::~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }

}  // namespace sandboxd::test
