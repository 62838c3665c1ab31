// The agent's terminal: a pseudo-terminal of its own, never the user's.
//
// A process holding the user's terminal can do more to it than write:
// change its line discipline (TIOCSETD: the terminal dead for good, or a
// line-discipline module loaded), make it exclusive (the user's password
// prompts then fail to open it), stop its output, switch a text console's
// keyboard off, or, started in the background, make itself the foreground
// and read what the user types next. Each is one ioctl among hundreds, on
// a descriptor the agent needs for its output. So when any of
// sandbox-run's standard streams is a terminal, the agent gets a pty
// instead, as its controlling terminal in a session of its own, and a
// thread of sandbox-run's copies between the two (as script(1) and sudo's
// use_pty do). The user's terminal is in raw mode meanwhile, so that ^C
// and ^Z reach the agent's pty as characters and act there (so the session
// cannot be suspended from the keyboard: ^Z stops a job of a shell in the
// agent, and nothing else); its settings come back when the session ends.
// Keystrokes go to the agent only where its stdout goes to the terminal
// too and sandbox-run is in the foreground; else its stdin is /dev/null.
#pragma once

#include <sys/types.h>
#include <termios.h>

#include <atomic>
#include <memory>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

class AgentTerminal {
public:
    // Null when none of fds 0, 1, 2 is a terminal. The pty's slave side is
    // made the agent's (`uid`, `gid`), as login makes a user's.
    static Result<std::unique_ptr<AgentTerminal>> open(uid_t uid, gid_t gid);
    ~AgentTerminal();  // stops the copying, restores the user's terminal
    AgentTerminal(const AgentTerminal&) = delete;
    AgentTerminal& operator=(const AgentTerminal&) = delete;

    // The agent's descriptor for stream `i` (0, 1, 2): the pty's slave side
    // where sandbox-run's is a terminal (pty(i)), /dev/null for a terminal
    // stdin whose keystrokes are not the agent's, else -1.
    int agent_fd(int i) const {
        if (i == 0 && null_in_) return null_in_.get();
        return is_terminal_[i] ? slave_.get() : -1;
    }
    bool pty(int i) const { return is_terminal_[i]; }
    // The pty's slave side (O_PATH: it holds no terminal open) and its
    // master, -1 without a pty: what /dev/tty is to the agent (the gate
    // opens it for writing on its behalf, gate/agent_tty.h).
    int slave_path() const { return slave_path_.get(); }
    int master() const { return master_.get(); }
    // After the agent is started (or failed to): sandbox-run lets go of
    // the slave side, so that the copying ends once the session's last
    // process has.
    void agent_started();
    // Once the session's processes are gone: copies what the agent's
    // output still holds (waiting at most `timeout_ms`), then restores the
    // user's terminal.
    void finish(int timeout_ms);

private:
    AgentTerminal() = default;
    void copy();  // the thread
    void restore();

    bool is_terminal_[3] = {false, false, false};
    UniqueFd master_, slave_, slave_path_;
    UniqueFd null_in_;
    UniqueFd user_in_;   // the terminal keystrokes come from: stdin, when sandbox-run is its foreground
    UniqueFd user_out_;  // where the agent's output goes
    int winsize_fd_ = -1;  // whose window size the pty follows
    bool raw_ = false;
    termios saved_{};
    UniqueFd stop_;  // an eventfd: finish() wants the copying to end
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace sandboxd
