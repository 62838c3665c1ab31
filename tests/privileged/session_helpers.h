// Helpers for tests that run real sessions with the built binaries. Each
// test gets its own runtime and state directories, so `--all` in one test
// never reaches another's sessions.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "process.h"
#include "session/registry.h"
#include "tempdir.h"

namespace sandboxd::test {

// The unprivileged identity agents run as in these tests.
constexpr unsigned kAgentUid = 4242;
constexpr unsigned kAgentGid = 4343;
inline const std::string kAgentUser = "4242:4343";

struct Host {
    TempDir runtime{"sandboxd-run"};
    TempDir state{"sandboxd-state"};
    TempDir ws{"sandboxd-ws"};  // owned by the agent user

    Host();

    // The shipped profiles plus the test programs' directory in read and
    // exec scope (they live in the build tree). Found by name too:
    // "readonly-t", "workspace-t".
    std::string readonly_profile, workspace_profile;
    std::vector<std::string> env() const;
    SandboxdDirs dirs() const;

    // sandbox-run ARGS (options, "--", command...); --profile defaults to
    // readonly-t.
    ProcResult run(const std::vector<std::string>& args, int timeout_ms = 60000) const;
    // run() while `meanwhile` does what the host does during the session
    // (it waits for its own cue, such as wait_for_path).
    ProcResult run_meanwhile(const std::vector<std::string>& args, const std::function<void()>& meanwhile) const;
    std::vector<std::string> run_argv(const std::vector<std::string>& args) const;
    ProcResult ctl(const std::vector<std::string>& args, int timeout_ms = 60000) const;
    // run(), with sandbox-run's own standard streams redirected by a shell
    // as `redirections` says ("> FILE 2>&1", "<&-").
    ProcResult run_redirected(const std::vector<std::string>& args, const std::string& redirections) const;
    // Runs a probe program (tests/testcases) through sandbox-run ARGS and
    // returns, for each line "NAME RESULT...", NAME -> "RESULT...". The
    // program must reach its "probe-done" line and exit 0: a hostile probe
    // is refused, never killed.
    std::map<std::string, std::string> run_probes(const std::vector<std::string>& args) const;
    std::vector<SessionView> sessions() const;
    // Waits until exactly one session is listed and has at least `procs` processes.
    SessionView wait_for_session(int procs, int timeout_ms = 10000) const;
    // Writes a profile file into the workspace's sibling directory, returns its path.
    std::string profile(const std::string& name, const std::string& text) const;

private:
    TempDir profiles_{"sandboxd-prof"};
};

std::string testcase(const std::string& name);
// `s` quoted as one word for sh -c.
std::string shell_word(const std::string& s);
// A directory tree as text, one sorted line per entry below `root`: path,
// type, mode, owner, symlink target or a hash of the content. Equal texts
// mean identical trees (times aside).
std::string tree_state(const std::string& root);
// `sh -c script` as the agent user in a session of the workspace profile on
// h.ws, with sandbox-run's `extra` options.
ProcResult agent_sh(const Host& h, const std::string& script, const std::vector<std::string>& extra = {});
// Writes `text` to `path` (creating directories) owned by the agent user.
void plant_file(const std::string& path, const std::string& text, mode_t mode = 0644);
// The id of the only session this host has a journal for.
std::string only_session(const Host& h);
bool path_exists(const std::string& p);
// Entries of a directory (names), empty when it does not exist.
std::vector<std::string> list_dir(const std::string& p);
// The contents of every regular file below `root` (tests that move files
// around give each its own name as content, so contents identify them).
std::multiset<std::string> contents_below(const std::string& root);
// What `a` holds that `b` does not (counting repeats): a failed comparison of
// two 5,000-file trees then names the few that differ.
std::multiset<std::string> difference(const std::multiset<std::string>& a, const std::multiset<std::string>& b);
// The store paths `sandboxctl rollback` names as orphan steps.
std::vector<std::string> orphans_in(const std::string& rollback_out);
// The contents of every file those orphan steps keep: an orphan is a file or
// a whole directory (an rmdir, or a tree moved at once). One that cannot be
// read counts as "unreadable: PATH", so a comparison fails and names it.
std::multiset<std::string> orphan_contents(const std::string& rollback_out);
// Processes on the host whose command line starts with `needle`.
int count_processes_with(const std::string& needle);
// Milliseconds to sleep.
void sleep_ms(int ms);
// Waits (20 s at most) until `path` exists: a session's cue to the host.
void wait_for_path(const std::string& path);
// A shell snippet that waits (20 s at most) until NAME exists: the host's
// cue to the session.
std::string shell_wait_for(const std::string& name);

// What a test mounted, unmounted (lazily) when this goes.
struct Unmount {
    std::string path;
    ~Unmount();
};

}  // namespace sandboxd::test
