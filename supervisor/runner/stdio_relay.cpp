#include "runner/stdio_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <string_view>

#include "base/file_io.h"
#include "base/time_util.h"

namespace sandboxd {
namespace {

// What can be mapped as code: files, not streams or devices of characters.
bool is_file(const struct stat& st) { return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode); }

// A socket keeps the cgroup it was made in (the launcher's): the session's
// network hooks never see one handed over, which could then reconnect,
// send anywhere or accept connections. Such a socket reaches the agent as
// a pipe. A connected unix stream socket (what Node and others give a
// child as stdio) can only ever talk to its peer: passed on as it is.
bool must_relay_socket(int fd) {
    int domain = 0, type = 0, listening = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return true;
    len = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return true;
    len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) return true;
    if (domain != AF_UNIX || (type != SOCK_STREAM && type != SOCK_SEQPACKET)) return true;
    sockaddr_storage peer{};
    len = sizeof peer;
    return ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0;
}

// A relay thread takes no SIGPIPE (the agent may close its stdin early,
// and the default action would end sandbox-run): EPIPE is enough.
void block_sigpipe() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

constexpr size_t kChunk = 64 * 1024;

}  // namespace

Result<std::unique_ptr<StdioRelay>> StdioRelay::start(bool terminals) {
    std::unique_ptr<StdioRelay> r(new StdioRelay());
    r->stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!r->stop_) return errno_error("cannot make an eventfd for the standard stream relays");
    struct stat st[3]{};
    bool file[3];
    for (int i = 0; i < 3; ++i)
        file[i] = ::fstat(i, &st[i]) == 0 && (is_file(st[i]) || (S_ISSOCK(st[i].st_mode) && must_relay_socket(i)) ||
                                             (terminals && ::isatty(i) == 1));
    // Keystrokes are for the terminal's foreground job: from the
    // background the agent reads nothing (sandbox-run reading there would
    // be stopped by SIGTTIN).
    if (file[0] && ::isatty(0) == 1 && ::tcgetpgrp(0) != ::getpgrp()) {
        file[0] = false;
        r->agent_ends_[0] = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!r->agent_ends_[0]) return errno_error("cannot open /dev/null for the agent's stdin");
    }
    auto make_pipe = [](UniqueFd& read_end, UniqueFd& write_end) -> Status {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("cannot make a pipe for the agent's standard streams");
        read_end = UniqueFd(p[0]);
        write_end = UniqueFd(p[1]);
        return {};
    };
    if (file[0]) {
        SANDBOXD_TRY(make_pipe(r->agent_ends_[0], r->own_ends_[0]));
        // A reader of the pipe's own, to count what the agent left in it
        // (a writer kept open would keep the agent from seeing the end).
        r->stdin_pipe_ = UniqueFd(::fcntl(r->agent_ends_[0].get(), F_DUPFD_CLOEXEC, 3));
        r->feed_stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!r->stdin_pipe_ || !r->feed_stop_ || ::fcntl(r->own_ends_[0].get(), F_SETFL, O_NONBLOCK) != 0)
            return errno_error("cannot set up the agent's stdin pipe");
        r->stdin_start_ = ::lseek(0, 0, SEEK_CUR);  // -1: not seekable
    }
    for (int i : {1, 2}) {
        if (!file[i]) continue;
        // 2>&1: one pipe for both, so that what the agent writes to each
        // stays in the order it wrote it.
        if (i == 2 && file[1] && st[1].st_dev == st[2].st_dev && st[1].st_ino == st[2].st_ino) {
            r->agent_ends_[2] = UniqueFd(::fcntl(r->agent_ends_[1].get(), F_DUPFD_CLOEXEC, 3));
            if (!r->agent_ends_[2]) return errno_error("cannot duplicate the agent's stdout for its stderr");
            continue;
        }
        SANDBOXD_TRY(make_pipe(r->own_ends_[size_t(i)], r->agent_ends_[size_t(i)]));
    }
    return r;
}

void StdioRelay::feed(std::shared_ptr<Fed> fed, UniqueFd own, int stop) {
    block_sigpipe();
    // PIPE_BUF at a time into a pipe that does not block: each write goes
    // in whole or not at all, so `bytes` is exactly what the pipe took.
    char buf[PIPE_BUF];
    for (;;) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        // End of file (or a read error): the agent sees its stdin end.
        if (n <= 0) break;
        bool stopped = false;
        while (!stopped) {
            ssize_t w = ::write(own.get(), buf, size_t(n));
            if (w == n) {
                fed->bytes += uint64_t(n);
                break;
            }
            if (w < 0 && errno == EINTR) continue;
            if (w >= 0 || errno != EAGAIN) {
                stopped = true;  // EPIPE: the agent closed its stdin
                break;
            }
            pollfd fds[2] = {{own.get(), POLLOUT, 0}, {stop, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0 && errno != EINTR) stopped = true;
            if (fds[1].revents & POLLIN) stopped = true;  // the session is over
        }
        if (stopped) break;
    }
    fed->ended = true;
}

void StdioRelay::drain(UniqueFd own, int stdio) {
    block_sigpipe();
    char buf[kChunk];
    bool failed = false;
    int64_t deadline = 0;  // set once finish() asks: the session is over
    for (;;) {
        pollfd fds[2] = {{own.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
        int timeout = -1;
        if (deadline) {
            int64_t left = (deadline - monotonic_nsec()) / 1000000;
            if (left <= 0) return;
            timeout = int(left);
        }
        int n = ::poll(fds, deadline ? 1 : 2, timeout);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        if (n == 0) return;  // past the deadline
        if (!deadline && (fds[1].revents & POLLIN)) {
            deadline = monotonic_nsec() + int64_t(drain_ms_.load()) * 1000000;
            continue;
        }
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t got = ::read(own.get(), buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return;  // every writer is gone
        // A full disk: said once; the rest is read and dropped, so that the
        // agent is never stuck writing to a pipe nobody reads.
        if (failed) continue;
        if (auto st = write_all(stdio, std::string_view(buf, size_t(got))); !st) {
            failed = true;
            lost_[size_t(stdio)] = true;
            std::fprintf(stderr, "sandbox-run: cannot write the agent's %s to its file: %s\n",
                         stdio == 1 ? "stdout" : "stderr", st.error().describe().c_str());
        }
    }
}

// The threads start only now: the agent's set-up between clone and exec
// forks, which in a copy of a process whose other threads hold a lock
// (malloc's, as a thread starts) would wait for it for ever.
void StdioRelay::agent_started() {
    for (auto& fd : agent_ends_) fd.reset();
    if (own_ends_[0]) {
        fed_ = std::make_shared<Fed>();
        // The feeder's own copy of the stop eventfd: one left stuck reading
        // never holds a number the relay has closed.
        UniqueFd stop(::fcntl(feed_stop_.get(), F_DUPFD_CLOEXEC, 3));
        feeder_ = std::thread([fed = fed_, fd = std::move(own_ends_[0]), stop = std::move(stop)]() mutable {
            feed(std::move(fed), std::move(fd), stop.get());
        });
    }
    for (int i : {1, 2})
        if (own_ends_[size_t(i)])
            threads_.emplace_back([this, i, fd = std::move(own_ends_[size_t(i)])]() mutable { drain(std::move(fd), i); });
}

void StdioRelay::finish(int timeout_ms) {
    for (auto& fd : agent_ends_) fd.reset();
    for (auto& fd : own_ends_) fd.reset();  // never started
    drain_ms_ = timeout_ms;
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    if (!feeder_.joinable()) return;
    (void)!::write(feed_stop_.get(), &one, sizeof one);
    for (int waited = 0; !fed_->ended && waited < 500; waited += 5) ::usleep(5000);
    if (!fed_->ended) {
        feeder_.detach();  // stuck reading: it ends with sandbox-run
        return;
    }
    feeder_.join();
    int unread = 0;
    if (stdin_start_ >= 0 && ::ioctl(stdin_pipe_.get(), FIONREAD, &unread) == 0 && uint64_t(unread) <= fed_->bytes)
        (void)::lseek(0, stdin_start_ + off_t(fed_->bytes - uint64_t(unread)), SEEK_SET);
}

StdioRelay::~StdioRelay() { finish(2000); }

std::vector<std::string> StdioRelay::lost() const {
    std::vector<std::string> out;
    if (lost_[1]) out.push_back("stdout");
    if (lost_[2]) out.push_back("stderr");
    return out;
}

}  // namespace sandboxd
