// Interactive use on a real terminal (a pty): a shell in the session works,
// and whatever the agent does to the terminal is undone when it ends.
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/time_util.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

struct PtyRun {
    int status = -1;
    std::string output;
    termios after{};
};

// Runs sandbox-run ARGS as the foreground job of a fresh pty, typing
// `input`, until it exits; returns its status, everything it printed and
// the terminal's settings at the end.
PtyRun run_on_pty(const Host& h, const std::vector<std::string>& args, const std::string& input) {
    std::vector<std::string> argv = h.run_argv(args);
    std::vector<std::string> env = h.env();
    int master = -1;
    pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
        std::vector<char*> a;
        for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
        a.push_back(nullptr);
        execv(a[0], a.data());
        _exit(127);
    }
    PtyRun r;
    size_t typed = 0;
    int64_t deadline = sandboxd::monotonic_nsec() + 20'000'000'000;
    int st = 0;
    bool exited = false;
    while (sandboxd::monotonic_nsec() < deadline) {
        pollfd p{master, POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
            char buf[512];
            ssize_t n = read(master, buf, sizeof buf);
            if (n > 0) r.output.append(buf, size_t(n));
        }
        // Type one line at a time once the shell has shown a prompt.
        if (typed < input.size() && r.output.find("$ ") != std::string::npos) {
            size_t nl = input.find('\n', typed);
            std::string line = input.substr(typed, nl - typed + 1);
            REQUIRE(write(master, line.data(), line.size()) == ssize_t(line.size()));
            typed = nl + 1;
        }
        if (!exited && waitpid(pid, &st, WNOHANG) == pid) {
            exited = true;
            break;
        }
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    tcgetattr(master, &r.after);
    close(master);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

}  // namespace

TEST_CASE("an interactive shell works inside a session on a terminal") {
    Host h;
    auto r = run_on_pty(h, {"--user", kAgentUser, "--", "/bin/sh", "-i"},
                        "echo inside-$((40+2))\nexit 5\n");
    CHECK(r.status == 5);
    CHECK_THAT(r.output, Catch::Contains("inside-42"));
}

TEST_CASE("the terminal is restored after an agent leaves it in raw mode") {
    Host h;
    auto r = run_on_pty(h, {"--user", kAgentUser, "--", "sh", "-c", "stty raw -echo; exit 0"}, "");
    CHECK(r.status == 0);
    CHECK((r.after.c_lflag & ICANON) != 0);
    CHECK((r.after.c_lflag & ECHO) != 0);
}
