#include "launch/session_connect.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sandboxd {

namespace {

struct Request {
    uint64_t seq;
    int64_t fresh_until_ns;  // CLOCK_MONOTONIC: later, init does nothing
};

struct Reply {
    uint64_t seq;
    int32_t err;
};

// How long the gate waits for init's answer beyond the slice itself: init
// may be busy forwarding a signal or reaping, or frozen with the session.
// A request init reads later than kFreshMs after it was sent is not
// carried out; one it began by then has ended (its slice is over) well
// before the gate stops waiting, connected or not. Short: while init is
// frozen, the gate learns of the freeze only once it stops waiting, and
// the kill switch's freeze waits for the gate.
constexpr int kAnswerGraceMs = 200;
constexpr int kFreshMs = 50;
static_assert(kFreshMs + kSessionConnectSliceMs < kSessionConnectSliceMs + kAnswerGraceMs);

// A request's message: its body and room for the two descriptors.
struct RequestMessage {
    Request body{};
    iovec iov{&body, sizeof body};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
    msghdr msg{};
    RequestMessage() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
    RequestMessage(const RequestMessage&) = delete;  // points into itself
    RequestMessage& operator=(const RequestMessage&) = delete;
};

int64_t monotonic_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
}

}  // namespace

int connect_in_session(int connector, int sock, int node) {
    // Answers are told apart by number: one that comes after the gate gave
    // up on it must not be taken for the next request's.
    static uint64_t next_seq = 0;
    RequestMessage m;
    const Request& req = m.body = Request{++next_seq, monotonic_ns() + int64_t(kFreshMs) * 1000000};
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    int fds[2] = {sock, node};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    if (::sendmsg(connector, &m.msg, MSG_NOSIGNAL) != ssize_t(sizeof req)) return ECONNABORTED;
    for (;;) {
        pollfd p{connector, POLLIN, 0};
        int ready = ::poll(&p, 1, kSessionConnectSliceMs + kAnswerGraceMs);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            // No answer (init frozen with the session, or stuck): whatever
            // it began has ended by now. The socket says whether it got as
            // far as connecting; if not, nothing was done.
            sockaddr_un peer{};
            socklen_t len = sizeof peer;
            return ::getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &len) == 0 ? 0 : EINTR;
        }
        if (ready < 0) return ECONNABORTED;
        Reply rep{};
        ssize_t n = ::recv(connector, &rep, sizeof rep, 0);
        if (n != ssize_t(sizeof rep)) return ECONNABORTED;
        if (rep.seq == req.seq) return rep.err;
    }
}

bool serve_connect_request(int connector) {
    static bool handler_set = false;
    if (!handler_set) {
        // The slice's end interrupts the connect (no SA_RESTART): EINTR.
        struct sigaction sa {};
        sa.sa_handler = [](int) {};
        sigemptyset(&sa.sa_mask);
        if (::sigaction(SIGALRM, &sa, nullptr) != 0) return false;
        handler_set = true;
    }
    RequestMessage m;
    const Request& req = m.body;
    ssize_t n = ::recvmsg(connector, &m.msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) return true;
    cmsghdr* c = n == ssize_t(sizeof req) ? CMSG_FIRSTHDR(&m.msg) : nullptr;
    int fds[2] = {-1, -1};
    bool ok = c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof fds);
    if (ok)
        std::memcpy(fds, CMSG_DATA(c), sizeof fds);
    else if (c && c->cmsg_type == SCM_RIGHTS)  // whatever came, not kept
        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            ::close(fd);
        }
    if (!ok) return false;
    if (monotonic_ns() > req.fresh_until_ns) {  // the gate has stopped waiting for it
        ::close(fds[0]);
        ::close(fds[1]);
        return true;
    }
    // The socket file by init's own view of its descriptor: /proc is the
    // session's, where thread-self is init.
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/thread-self/fd/%d", fds[1]);
    itimerval slice{};
    slice.it_value.tv_usec = kSessionConnectSliceMs * 1000;
    ::setitimer(ITIMER_REAL, &slice, nullptr);
    int rc = ::connect(fds[0], reinterpret_cast<sockaddr*>(&sa), socklen_t(sizeof sa));
    Reply rep{req.seq, rc == 0 ? 0 : errno};
    itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::close(fds[0]);
    ::close(fds[1]);
    return ::send(connector, &rep, sizeof rep, MSG_NOSIGNAL) == ssize_t(sizeof rep);
}

}  // namespace sandboxd
