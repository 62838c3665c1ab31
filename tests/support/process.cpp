#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "base/time_util.h"

extern char** environ;

namespace sandboxd::test {
namespace {

int decode(int wstatus) {
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return -1;
}

pid_t start(const std::vector<std::string>& argv, const std::vector<std::string>& env, int& out,
            int& err) {
    int o[2], e[2];
    if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC)) throw std::runtime_error("pipe");
    std::vector<std::string> envs;
    for (char** p = environ; *p; ++p) envs.emplace_back(*p);
    for (const auto& kv : env) {
        std::string key = kv.substr(0, kv.find('=') + 1);
        std::erase_if(envs, [&](const std::string& x) { return x.starts_with(key); });
        envs.push_back(kv);
    }
    std::vector<char*> a, en;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    for (auto& s : envs) en.push_back(const_cast<char*>(s.c_str()));
    en.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(o[1], 1);
        dup2(e[1], 2);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        execve(a[0], a.data(), en.data());
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    out = o[0];
    err = e[0];
    return pid;
}

}  // namespace

std::string env_get(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v ? v : fallback;
}

ProcResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env, int timeout_ms) {
    Background b(argv, env);
    return b.wait(timeout_ms);
}

Background::Background(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    pid_ = start(argv, env, out_, err_);
}

Background::~Background() {
    if (!done_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
}

size_t Background::pump(int timeout_ms) {
    pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    if (poll(fds, 2, timeout_ms) <= 0) return 0;
    char buf[65536];
    size_t got = 0;
    for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n > 0) {
            (i == 0 ? out_buf_ : err_buf_).append(buf, size_t(n));
            got += size_t(n);
        }
    }
    return got;
}

bool Background::wait_for_output(const std::string& needle, int timeout_ms) {
    int64_t deadline = monotonic_nsec() + int64_t(timeout_ms) * 1000000;
    while (out_buf_.find(needle) == std::string::npos) {
        int64_t left = (deadline - monotonic_nsec()) / 1000000;
        if (left <= 0) return false;
        pump(int(std::min<int64_t>(left, 50)));
        int st;
        if (!done_ && waitpid(pid_, &st, WNOHANG) == pid_) {
            done_ = true;
            result_.status = decode(st);
        }
        if (done_) {
            int64_t drain_until = monotonic_nsec() + 5'000'000'000;
            while (pump(0) > 0 && monotonic_nsec() < drain_until) {
            }
            return out_buf_.find(needle) != std::string::npos;
        }
    }
    return true;
}

ProcResult Background::wait(int timeout_ms) {
    int64_t deadline = monotonic_nsec() + int64_t(timeout_ms) * 1000000;
    while (!done_) {
        pump(20);
        int st;
        pid_t r = waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            done_ = true;
            result_.status = decode(st);
            break;
        }
        if (monotonic_nsec() > deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &st, 0);
            done_ = true;
            result_.status = -2;  // timed out
            break;
        }
    }
    // Drain what is left: all of it (a full pipe holds 64 KiB), until a
    // look finds nothing. Not to EOF: leftover children may hold the pipes
    // open, so a bound on time too.
    int64_t drain_until = monotonic_nsec() + 5'000'000'000;
    while (pump(10) > 0 && monotonic_nsec() < drain_until) {
    }
    result_.out = out_buf_;
    result_.err = err_buf_;
    return result_;
}

}  // namespace sandboxd::test
