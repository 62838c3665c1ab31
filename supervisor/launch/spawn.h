// Starting the agent: clone3 straight into the session cgroup, then, in the
// child, drop everything and exec. All policy is computed before the clone;
// the child only applies it.
//
// Between clone and exec the child allocates nothing, logs nothing and
// throws nothing: on failure it writes {step, errno} down a close-on-exec
// pipe and exits. The parent reads the pipe: EOF means exec succeeded.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "launch/identity.h"
#include "mounts/plan.h"
#include "policy/seccomp_policy.h"

namespace sandboxd {

struct SpawnSpec {
    std::vector<std::string> argv;  // argv[0] is looked up in the agent's PATH
    std::vector<std::string> env;   // the agent's whole environment
    std::string cwd;
    Identity identity;
    const SeccompProgram* seccomp = nullptr;
    int landlock_ruleset_fd = -1;    // -1: no Landlock (audit mode)
    // The agent gets its own mount, pid and IPC namespaces, set up from this
    // plan, under a small init (pid 1) that forwards signals, reaps, and
    // takes every leftover process with it when the agent ends. Required.
    const MountPlan* mounts = nullptr;
    // A standard stream (0-2) holding the agent's own terminal
    // (runner/agent_terminal.h), which becomes its controlling terminal, in
    // a session of its own; -1: none, and a process group of its own.
    int controlling_terminal = -1;
    uint64_t tmp_access = 0;          // Landlock rights on the private /tmp
    uint64_t proc_access = 0;         // Landlock rights on the session's /proc
    // The agent's stdin, stdout and stderr when not sandbox-run's own
    // (runner/stdio_relay.h): -1 keeps sandbox-run's.
    int stdio[3] = {-1, -1, -1};
    int cgroup_v2_dirfd = -1;        // CLONE_INTO_CGROUP target
    std::vector<int> cgroup_join_fds;  // v1 "tasks" files the child writes "0" to
};

// Which step of the child's set-up failed.
enum class SpawnStep : int {
    None = 0,
    Signals = 1,
    DeathSignal = 2,
    JoinCgroup = 3,
    NoNewPrivs = 4,
    Securebits = 5,
    BoundingSet = 6,
    Groups = 7,
    Gid = 8,
    Uid = 9,
    Capabilities = 10,
    Chdir = 11,
    CloseFds = 12,
    Seccomp = 13,
    Exec = 14,
    Landlock = 15,
    MountSlave = 16,
    PrivateTmp = 17,
    LandlockTmp = 18,
    NoExec = 19,
    Protect = 20,
    Hide = 21,
    Proc = 22,
    MemfdNoexec = 23,
    Init = 24,
    Killed = 25,  // killed by a signal (err: its number) before its exec: the kill switch
    CoreLimit = 26,
    PrivateDev = 27,
    Keyring = 28,
    SignalQueue = 29,
};

const char* spawn_step_name(SpawnStep s);

struct SpawnFailure {
    SpawnStep step = SpawnStep::None;
    int err = 0;
};

struct Child {
    pid_t pid = -1;
    UniqueFd pidfd;
};

struct SpawnResult {
    Child child;           // valid when the exec succeeded
    UniqueFd listener;     // the seccomp notification listener, when gated
    UniqueFd connector;    // when gated: the session's init, for the gate's connects (launch/session_connect.h)
    SpawnFailure failure;  // step != None when it did not (child already reaped)
};

// Clones and execs. A Result error means the clone itself failed; a child
// that could not finish its set-up is reported through `failure`.
Result<SpawnResult> spawn_agent(const SpawnSpec& spec);

}  // namespace sandboxd
