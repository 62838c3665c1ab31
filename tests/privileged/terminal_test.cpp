// Interactive use on a real terminal (a pty): a shell in the session works,
// and whatever the agent does to the terminal is undone when it ends.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <sstream>

#include "base/file_io.h"
#include "base/time_util.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

struct PtyRun {
    int status = -1;
    std::string output;
    termios after{};
};

// Runs `argv` (with `env`) as the foreground job of a fresh pty until it
// exits (20 s at most), asking `type`, whenever output came, what to type
// next (given all printed so far); returns its status, everything it
// printed and the terminal's settings at the end.
PtyRun on_pty(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              const std::function<std::string(const std::string& output)>& type,
              const std::function<void(int master)>& after_exit = {}) {
    int master = -1;
    pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
        std::vector<char*> a;
        for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
        a.push_back(nullptr);
        execv(a[0], a.data());
        _exit(127);
    }
    PtyRun r;
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
        if (std::string keys = type(r.output); !keys.empty())
            REQUIRE(write(master, keys.data(), keys.size()) == ssize_t(keys.size()));
        if (waitpid(pid, &st, WNOHANG) == pid) {
            exited = true;
            break;
        }
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    tcgetattr(master, &r.after);
    if (after_exit) after_exit(master);
    close(master);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

// sandbox-run ARGS on a fresh pty, typing `input` a line at a time once a
// shell prompt ("$ ") has been shown.
PtyRun run_on_pty(const Host& h, const std::vector<std::string>& args, const std::string& input,
                  const std::function<void(int master)>& after_exit = {}) {
    size_t typed = 0;
    auto type = [&](const std::string& output) -> std::string {
        if (typed >= input.size() || output.find("$ ") == std::string::npos) return "";
        size_t nl = input.find('\n', typed);
        std::string line = input.substr(typed, nl - typed + 1);
        typed = nl + 1;
        return line;
    };
    return on_pty(h.run_argv(args), h.env(), type, after_exit);
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

// The agent's terminal is a pty of its own (runner/agent_terminal.h): what
// it does to that one stays there. On the user's own, an exclusive mode,
// stopped output, a 1x1 window or a dead line discipline outlived the
// session: the user's shell hung, their password prompts failed.
TEST_CASE("the user's terminal is not the agent's - exclusive mode, stopped output, window size stay on the agent's pty") {
    Host h;
    const std::string agent =
        "import fcntl, os, struct, sys, termios\n"
        "try:\n"
        "    fcntl.ioctl(1, 0x5423, struct.pack('i', 27)); print('setd ok')\n"
        "except OSError as e:\n"
        "    print('setd', e.errno)\n"
        "print('agent-tty', os.fstat(0).st_rdev, os.fstat(1).st_rdev, flush=True)\n"
        "fcntl.ioctl(1, 0x540C)\n"
        "fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack('HHHH', 1, 1, 0, 0))\n"
        "termios.tcflow(1, termios.TCOOFF)\n";
    dev_t user_tty = 0;
    bool exclusive = true, flowing = false;
    int ldisc = -1;
    winsize ws{};
    auto r = run_on_pty(h, {"--user", kAgentUser, "--", "/usr/bin/python3", "-c", agent}, "", [&](int master) {
        int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(slave >= 0);
        struct stat st{};
        REQUIRE(fstat(slave, &st) == 0);
        user_tty = st.st_rdev;
        int excl = 1;
        exclusive = ioctl(slave, TIOCGEXCL, &excl) != 0 || excl != 0;
        ioctl(slave, TIOCGETD, &ldisc);
        ioctl(slave, TIOCGWINSZ, &ws);
        // Output still reaches the screen.
        REQUIRE(write(slave, "still-flowing\n", 14) == 14);
        std::string seen;
        for (int i = 0; i < 50 && seen.find("still-flowing") == std::string::npos; ++i) {
            pollfd p{master, POLLIN, 0};
            if (poll(&p, 1, 20) > 0) {
                char buf[256];
                ssize_t n = read(master, buf, sizeof buf);
                if (n > 0) seen.append(buf, size_t(n));
            }
        }
        flowing = seen.find("still-flowing") != std::string::npos;
        close(slave);
    });
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains("setd 1"));  // EPERM: refused outright
    size_t at = r.output.find("agent-tty ");
    REQUIRE(at != std::string::npos);
    std::istringstream in(r.output.substr(at + 10));
    unsigned long long in_rdev = 0, out_rdev = 0;
    in >> in_rdev >> out_rdev;
    CHECK(in_rdev != 0);
    CHECK(in_rdev == out_rdev);
    CHECK(dev_t(in_rdev) != user_tty);
    CHECK_FALSE(exclusive);
    CHECK(ldisc == 0);  // N_TTY
    CHECK_FALSE((ws.ws_row == 1 && ws.ws_col == 1));
    CHECK(flowing);
}

namespace {

// `shell` (sh -c) as the foreground job of a fresh pty, typing `input`
// once `ready` has been printed; everything printed until it exits.
std::string shell_on_pty(const Host& h, const std::string& shell, const std::string& ready, const std::string& input) {
    bool typed = input.empty();
    auto type = [&](const std::string& output) -> std::string {
        if (typed || output.find(ready) == std::string::npos) return "";
        typed = true;
        return input;
    };
    return on_pty({"/bin/sh", "-c", shell}, h.env(), type).output;
}

std::string command_line(const std::vector<std::string>& argv) {
    std::string cmd;
    for (const auto& a : argv) cmd += shell_word(a) + " ";
    return cmd;
}

}  // namespace

// With no terminal among its standard streams the agent still had the
// user's terminal as its controlling one (/dev/tty), in the user's session:
// it could write there, take the foreground, make the terminal exclusive.
// Where opens for writing go to the gate (workspace), the gate's worker
// opened /dev/tty as its own: sandbox-run's terminal, the user's (a
// red-team finding: keystrokes read, -echo left behind).
TEST_CASE("an agent whose streams are no terminal cannot reach the user's through /dev/tty") {
    for (std::string profile : {"readonly-t", "workspace-t"}) {
        INFO(profile);
        Host h;
        std::string agent = command_line(h.run_argv(
            {"--user", kAgentUser, "--profile", profile, "--workspace", h.ws.path(), "--", "/usr/bin/python3", "-c",
             "import os, termios\n"
             "try:\n"
             "    fd = os.open('/dev/tty', os.O_RDWR)\n"
             "    os.write(fd, b'AGENT-ON-USER-TTY')\n"
             "    a = termios.tcgetattr(fd); a[3] &= ~termios.ECHO; termios.tcsetattr(fd, termios.TCSANOW, a)\n"
             "    print('opened')\n"
             "except OSError as e:\n"
             "    print('errno', e.errno)\n"}));
        std::string out = shell_on_pty(
            h, agent + "< /dev/null > " + shell_word(h.ws / "out") + " 2>&1; stty -a | grep -o -- '-*echo '; echo done",
            "", "");
        INFO(out);
        auto text = sandboxd::read_file(h.ws / "out");
        REQUIRE(text);
        INFO(*text);
        CHECK_THAT(*text, Catch::Contains("errno 6"));  // ENXIO: no controlling terminal
        CHECK_THAT(out, !Catch::Contains("AGENT-ON-USER-TTY"));
        CHECK_THAT(out, Catch::Contains("done") && !Catch::Contains("-echo"));
    }
}

// On a terminal, /dev/tty opened for writing is the agent's own pty, its
// controlling terminal, also where the gate opens it.
TEST_CASE("/dev/tty opened for writing in a session on a terminal is the agent's own pty") {
    Host h;
    auto r = run_on_pty(h,
                        {"--user", kAgentUser, "--profile", "workspace-t", "--workspace", h.ws.path(), "--",
                         "/usr/bin/python3", "-c",
                         "import os\nfd = os.open('/dev/tty', os.O_RDWR)\n"
                         "print('same', os.fstat(fd).st_rdev == os.fstat(0).st_rdev)\n"
                         "os.write(fd, b'written-via-dev-tty\\r\\n')\n"},
                        "");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains("same True"));
    CHECK_THAT(r.output, Catch::Contains("written-via-dev-tty"));
}

// Keystrokes are the agent's only where its output goes to the terminal
// too: in `sandbox-run -- cmd | pager` they are the pager's.
TEST_CASE("keystrokes for another program of the pipeline are not taken by the session") {
    Host h;
    // The agent's stderr is the terminal, its stdout the pipe (make | less).
    std::string agent =
        command_line(h.run_argv({"--user", kAgentUser, "--", "/bin/sh", "-c", "echo agent-up >&2; sleep 3"}));
    std::string out = shell_on_pty(h, agent + "| sh -c 'read x < /dev/tty; echo got=$x'", "agent-up", "typed-line\n");
    INFO(out);
    CHECK_THAT(out, Catch::Contains("got=typed-line"));
}
