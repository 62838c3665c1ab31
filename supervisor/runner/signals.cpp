#include "runner/signals.h"

#include <sys/signalfd.h>

namespace sandboxd {

const int ForwardedSignals::kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

Result<ForwardedSignals> ForwardedSignals::block() {
    ForwardedSignals s;
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kSignals) sigaddset(&set, sig);
    if (::sigprocmask(SIG_BLOCK, &set, &s.old_) != 0) return errno_error("cannot block signals");
    s.restore_ = true;
    int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) return errno_error("cannot create signalfd");
    s.fd_ = UniqueFd(fd);
    return s;
}

ForwardedSignals::~ForwardedSignals() {
    if (restore_) ::sigprocmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace sandboxd
