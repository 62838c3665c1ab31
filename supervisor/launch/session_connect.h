// The gate's connect() to a pathname unix socket, made by a process of the
// session: its init. The kernel gives the listening end the connecting
// task's pid, credentials and cgroup (SO_PEERCRED, SO_PEERPIDFD); made by
// the gate's worker, they named sandbox-run, which runs as root with
// capabilities outside the session's cgroup, and a service deciding by
// pid (polkit, journald's _PID, brokers using SO_PEERPIDFD) took the agent
// for it. init runs as the agent, with no capabilities, in the session's
// cgroup and namespaces, and cannot be traced or signalled by it.
//
// The gate resolves and checks the path itself; init only connects the
// agent's socket to the socket file the gate opened (O_PATH), both passed
// over a seqpacket socketpair, and answers with the errno.
#pragma once

#include <cstdint>

namespace sandboxd {

// How long init lets one connect wait (a full backlog) before it answers
// EINTR; the gate asks again, between slices looking whether to give up.
constexpr int kSessionConnectSliceMs = 100;

// Supervisor side: connect `sock` to the socket open at `node` (O_PATH)
// through init at `connector`. 0 or the errno; EINTR: the slice ran out,
// or init did not answer in time (frozen with the session) and nothing was
// connected; ECONNABORTED: init is gone (the session is ending).
int connect_in_session(int connector, int sock, int node);

// init side: answers one request waiting on `connector`. False once the
// supervisor has closed its end (or the request was malformed).
bool serve_connect_request(int connector);

}  // namespace sandboxd
