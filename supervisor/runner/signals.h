// The supervisor receives SIGINT/SIGTERM/SIGHUP/SIGQUIT through a signalfd,
// blocked from the first instant, so a signal during set-up can never kill
// sandbox-run halfway and leave a cgroup or state entry behind.
#pragma once

#include <csignal>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

class ForwardedSignals {
public:
    static Result<ForwardedSignals> block();
    ForwardedSignals(ForwardedSignals&& o) noexcept
        : fd_(std::move(o.fd_)), old_(o.old_), restore_(std::exchange(o.restore_, false)) {}
    ForwardedSignals& operator=(ForwardedSignals&&) = delete;
    ~ForwardedSignals();  // restores the old mask

    int fd() const { return fd_.get(); }
    static const int kSignals[4];

private:
    ForwardedSignals() = default;
    UniqueFd fd_;
    sigset_t old_{};
    bool restore_ = false;
};

}  // namespace sandboxd
