// Keeps the user's terminal usable across an agent run: the agent may leave
// it in raw mode or take the foreground process group (an interactive shell
// does); both are put back when the session ends.
#pragma once

#include <sys/types.h>
#include <termios.h>

namespace sandboxd {

class TerminalGuard {
public:
    TerminalGuard();  // records the state of stdin's terminal, if any
    ~TerminalGuard();  // restores it
    TerminalGuard(const TerminalGuard&) = delete;
    TerminalGuard& operator=(const TerminalGuard&) = delete;

private:
    bool saved_ = false;
    termios attrs_{};
    pid_t pgrp_ = 0;
};

}  // namespace sandboxd
