#include "runner/agent_terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>

#include "base/file_io.h"

namespace sandboxd {
namespace {

// How often the pty's window size is brought in line with the user's
// terminal (SIGWINCH goes to sandbox-run's main loop, not to this thread).
constexpr int kWindowPollMs = 200;

bool same_size(const winsize& a, const winsize& b) {
    return a.ws_row == b.ws_row && a.ws_col == b.ws_col && a.ws_xpixel == b.ws_xpixel && a.ws_ypixel == b.ws_ypixel;
}

}  // namespace

Result<std::unique_ptr<AgentTerminal>> AgentTerminal::open(uid_t uid, gid_t gid) {
    std::unique_ptr<AgentTerminal> t(new AgentTerminal);
    bool tty[3];
    for (int i = 0; i < 3; ++i) tty[i] = ::isatty(i) == 1;
    // Keystrokes only where the agent's output goes to the terminal too,
    // and sandbox-run is the terminal's foreground: reading it from the
    // background is for the job the user put in front, and in
    // `sandbox-run -- make | less` they are the pager's (make's stderr is
    // the terminal, its stdout is not). Else the agent's stdin is
    // /dev/null (never the user's terminal).
    bool input = tty[0] && tty[1] && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
    if (tty[0] && !input) {
        t->null_in_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!t->null_in_) return errno_error("cannot open /dev/null for the agent's stdin");
    }
    t->is_terminal_[0] = input;
    t->is_terminal_[1] = tty[1];
    t->is_terminal_[2] = tty[2];
    int first = -1;
    for (int i = 0; i < 3 && first < 0; ++i)
        if (t->is_terminal_[i]) first = i;
    if (first < 0) return t->null_in_ ? std::move(t) : std::unique_ptr<AgentTerminal>();
    // Output goes where sandbox-run's own would: stdout's terminal, else
    // stderr's, else stdin's (opened again for writing: stdin may be
    // read-only).
    int out = t->is_terminal_[1] ? 1 : t->is_terminal_[2] ? 2 : 0;
    std::string self = "/proc/self/fd/" + std::to_string(out);
    t->user_out_ = UniqueFd(out == 0 ? ::open(self.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC)
                                     : ::fcntl(out, F_DUPFD_CLOEXEC, 0));
    if (!t->user_out_) return errno_error("cannot open the terminal for the agent's output");
    t->winsize_fd_ = first;

    t->master_ = UniqueFd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!t->master_ || ::grantpt(t->master_.get()) != 0 || ::unlockpt(t->master_.get()) != 0)
        return errno_error("cannot make a terminal for the agent");
    char name[128];
    if (::ptsname_r(t->master_.get(), name, sizeof name) != 0) return errno_error("cannot name the agent's terminal");
    t->slave_ = UniqueFd(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!t->slave_) return errno_error(std::string("cannot open the agent's terminal ") + name);
    if (::fchown(t->slave_.get(), uid, gid) != 0 || ::fchmod(t->slave_.get(), 0600) != 0)
        return errno_error("cannot give the agent its terminal");
    t->slave_path_ = UniqueFd(::open(name, O_PATH | O_CLOEXEC));
    if (!t->slave_path_) return errno_error(std::string("cannot hold the agent's terminal ") + name);

    // The agent starts with the user's settings and window size.
    termios attrs{};
    if (::tcgetattr(first, &attrs) == 0) (void)::tcsetattr(t->slave_.get(), TCSANOW, &attrs);
    winsize ws{};
    if (::ioctl(first, TIOCGWINSZ, &ws) == 0) (void)::ioctl(t->master_.get(), TIOCSWINSZ, &ws);

    if (input) {
        t->user_in_ = UniqueFd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
        if (!t->user_in_) return errno_error("cannot hold the terminal's input");
        if (::tcgetattr(STDIN_FILENO, &t->saved_) == 0) {
            termios raw = t->saved_;
            ::cfmakeraw(&raw);
            t->raw_ = ::tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
        }
    }
    t->stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!t->stop_) return errno_error("cannot create the terminal relay's stop event");
    return t;
}

void AgentTerminal::agent_started() {
    null_in_.reset();
    if (!master_) return;  // no pty: only stdin was a terminal
    slave_.reset();
    int flags = ::fcntl(master_.get(), F_GETFL);
    if (flags >= 0) (void)::fcntl(master_.get(), F_SETFL, flags | O_NONBLOCK);
    thread_ = std::thread([this] { copy(); });
}

// Until every holder of the pty's slave side is gone (the session is
// over), or finish() says stop: the agent's output to the user's terminal,
// the user's keystrokes to the agent, the window size along.
void AgentTerminal::copy() {
    // Moved to the background, sandbox-run is not stopped by its reads and
    // writes of the terminal (its gate would stop with it): they fail.
    sigset_t tty_stops;
    sigemptyset(&tty_stops);
    sigaddset(&tty_stops, SIGTTIN);
    sigaddset(&tty_stops, SIGTTOU);
    ::pthread_sigmask(SIG_BLOCK, &tty_stops, nullptr);
    std::string pending;  // keystrokes the pty has not taken yet
    bool input = bool(user_in_);
    winsize last{};
    (void)::ioctl(winsize_fd_, TIOCGWINSZ, &last);
    char buf[4096];
    bool stopping = false;
    for (;;) {
        pollfd fds[3] = {{master_.get(), short(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0},
                         {input && pending.empty() ? user_in_.get() : -1, POLLIN, 0},
                         {stop_.get(), POLLIN, 0}};
        int n = ::poll(fds, 3, stopping ? 0 : kWindowPollMs);
        if (n < 0 && errno != EINTR) break;
        winsize now{};
        if (::ioctl(winsize_fd_, TIOCGWINSZ, &now) == 0 && !same_size(now, last)) {
            (void)::ioctl(master_.get(), TIOCSWINSZ, &now);
            last = now;
        }
        if (n <= 0 && stopping) break;  // finishing, and nothing more came
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = ::read(master_.get(), buf, sizeof buf);
            if (got > 0) {
                // The user's terminal gone: the output has nowhere to go.
                (void)write_all(user_out_.get(), std::string_view(buf, size_t(got)));
            } else if (got == 0 || errno != EAGAIN) {
                break;  // EIO: the last holder of the slave side is gone
            }
        }
        if ((fds[0].revents & POLLOUT) && !pending.empty()) {
            ssize_t put = ::write(master_.get(), pending.data(), pending.size());
            if (put > 0) pending.erase(0, size_t(put));
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = ::read(user_in_.get(), buf, sizeof buf);
            if (got > 0) {
                pending.append(buf, size_t(got));
            } else if (got == 0) {
                // The user's terminal hung up: so does the agent's.
                master_.reset();
                break;
            } else if (errno != EAGAIN && errno != EINTR) {
                input = false;  // EIO: in the background now; no more keystrokes
            }
        }
        if (fds[2].revents & POLLIN) stopping = true;
    }
    done_.store(true, std::memory_order_release);
}

void AgentTerminal::finish(int timeout_ms) {
    if (thread_.joinable()) {
        using namespace std::chrono;
        auto until = steady_clock::now() + milliseconds(timeout_ms);
        while (!done_.load(std::memory_order_acquire) && steady_clock::now() < until)
            std::this_thread::sleep_for(milliseconds(5));
        uint64_t one = 1;
        (void)!::write(stop_.get(), &one, sizeof one);
        thread_.join();
    }
    restore();
}

void AgentTerminal::restore() {
    if (!raw_) return;
    raw_ = false;
    // From a background group tcsetattr raises SIGTTOU: blocked for the
    // moment the terminal is put back.
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    ::pthread_sigmask(SIG_BLOCK, &ttou, &old);
    (void)::tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

AgentTerminal::~AgentTerminal() {
    if (thread_.joinable()) {
        uint64_t one = 1;
        (void)!::write(stop_.get(), &one, sizeof one);
        thread_.join();
    }
    restore();
}

}  // namespace sandboxd
