#include "runner/terminal.h"

#include <csignal>
#include <unistd.h>

namespace sandboxd {

TerminalGuard::TerminalGuard() {
    if (!::isatty(STDIN_FILENO)) return;
    pgrp_ = ::getpgrp();
    // Only a foreground sandbox-run owns the terminal state to restore.
    if (::tcgetpgrp(STDIN_FILENO) != pgrp_) return;
    saved_ = ::tcgetattr(STDIN_FILENO, &attrs_) == 0;
}

TerminalGuard::~TerminalGuard() {
    if (!saved_) return;
    // tcsetpgrp/tcsetattr from a background group raise SIGTTOU; block it
    // for the moment we take the terminal back.
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    ::sigprocmask(SIG_BLOCK, &ttou, &old);
    if (::tcgetpgrp(STDIN_FILENO) != pgrp_) ::tcsetpgrp(STDIN_FILENO, pgrp_);
    ::tcsetattr(STDIN_FILENO, TCSADRAIN, &attrs_);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace sandboxd
