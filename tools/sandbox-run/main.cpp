// sandbox-run [OPTIONS] -- CMD [ARGS...]
// Runs CMD as an agent session. All the work is in supervisor::runner.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/terminal_text.h"
#include "runner/run_session.h"

int main(int argc, char** argv) {
    // A closed stdin, stdout or stderr gets /dev/null first: otherwise the
    // next descriptor sandbox-run opens (a cgroup's tasks file) would take
    // its number and be handed to the agent as a standard stream.
    for (int fd = 0; fd < 3; ++fd)
        if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int null = ::open("/dev/null", O_RDWR);
            if (null != fd) return 125;  // cannot happen: the lowest free number
        }
    sandboxd::RunOptions opts;
    bool explain = false;

    // Everything after the first "--" is the command, untouched by option
    // parsing (so `sandbox-run -- ls --profile` runs ls with that argument).
    int split = argc;
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    for (int i = split + 1; i < argc; ++i) opts.argv.emplace_back(argv[i]);

    CLI::App app{"Run a command as an AI agent session under a sandboxd scope profile.", "sandbox-run"};
    app.add_option("--profile,-p", opts.profile, "Profile name or path to a .toml file")
        ->capture_default_str();
    app.add_option("--workspace,-w", opts.workspace, "Workspace directory (default: current directory)");
    app.add_option("--name,-n", opts.name, "A label for the session, shown by sandboxctl ps");
    app.add_option("--user,-u", opts.user,
                   "Run as USER[:GROUP] (default: SUDO_UID, else nobody when run by root)");
    app.add_flag("--audit", opts.audit, "Log would-be denials of the profile instead of denying");
    app.add_flag("--explain", explain, "Print which layer enforces which part of the profile, then exit");
    std::vector<std::string> rest;
    if (split == argc) app.add_option("command", rest, "Command to run")->expected(-1);
    app.prefix_command(split == argc);
    try {
        app.parse(split, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "sandbox-run: %s (see sandbox-run --help)\n", e.what());
        return 125;
    }
    if (split == argc) {
        for (auto& r : rest) opts.argv.push_back(r);
        for (auto& r : app.remaining()) opts.argv.push_back(r);
    }

    sandboxd::ExitStatus st = explain ? sandboxd::explain_session(opts) : sandboxd::run_session(opts);
    // The message may hold what the agent chose (a link's target, a file's
    // name): no escape sequence or line of it reaches the terminal as such.
    if (!st.message.empty())
        std::fprintf(stderr, "sandbox-run: %s\n", sandboxd::terminal_safe(st.message, sandboxd::Newlines::Indent).c_str());
    return st.code;
}
