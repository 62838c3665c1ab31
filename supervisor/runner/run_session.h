// The embedded supervisor: runs one agent session in-process, from profile
// to cleanup. sandbox-run uses it when no daemon is there; the daemon will
// run the same code per session.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sandboxd {

struct RunOptions {
    std::string profile = "readonly";
    std::optional<std::string> workspace;  // default: the current directory
    std::optional<std::string> name;
    std::optional<std::string> user;
    bool audit = false;
    std::vector<std::string> argv;
};

// What sandbox-run exits with: the agent's status (128+N for signal N), 125
// when the sandbox could not be set up, 126/127 as a shell does. `message`
// is the one line to print on stderr, empty when there is nothing to say.
struct ExitStatus {
    int code = 0;
    std::string message;
};

ExitStatus run_session(const RunOptions& opts);

// `sandbox-run --explain`: which layer enforces which part of the profile on
// this host. Returns 0, or 125 with a message when the profile is bad.
ExitStatus explain_session(const RunOptions& opts);

}  // namespace sandboxd
