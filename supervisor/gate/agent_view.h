// Where an object the agent named lives: the same directory seen from the
// agent's mount namespace (the descriptors the gate resolves with) and
// from the host's (where the snapshot stores are), and what the agent's
// view makes of it (read-only mounts, mount points, session-private
// filesystems).
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>

#include "gate/operations.h"

namespace sandboxd {

struct NameStat;

// The directory `agent_dir` as the host sees it, when the host reaches the
// same directory at the path the agent sees it under; null otherwise.
// Valid until the next call (the context keeps the last answer).
const HostDir* host_dir(GateContext& ctx, int agent_dir);
// The same for a directory whose stat_dir() the caller has already (an
// operation that needs it for its guards too saves a call).
const HostDir* host_dir(GateContext& ctx, int agent_dir, const NameStat& dir_now);
// For the journal: the host's name for dir/name, else the agent's.
std::string display_path(GateContext& ctx, int dir, const std::string& name);
// The same with host_dir()'s answer for `dir` at hand (null: none).
std::string display_path(const HostDir* host, int dir, const std::string& name);
bool is_mountpoint(int dir, const std::string& name);  // in the agent's view
// What one statx tells of dir/name (not following a final symlink): the
// mount it is on, to compare with its directory's (a mount point), and
// its birth time (-1 where the filesystem keeps none).
struct NameFacts {
    uint64_t mnt = 0;
    int64_t born_usec = -1;
};
std::optional<NameFacts> name_facts(int dir, const std::string& name);
// Both the stat and the facts of dir/name from that one statx (a gated
// delete needs both, and each call is a microsecond here); nullopt with
// errno set when it fails.
struct NameStat {
    struct stat st {};
    NameFacts facts;
};
std::optional<NameStat> stat_name(int dir, const std::string& name);
std::optional<NameStat> stat_dir(int fd);  // the same of the directory open at fd
int64_t birth_usec(int fd);  // of the object open at fd; -1 when unknown
bool readonly_mount(int dir);
bool on_private_fs(const GateContext& ctx, int fd);    // the session's own /tmp, /dev/shm

// "/proc/thread-self/fd/N": opening it reopens the object `fd` holds, and
// path calls through it land on that object (also on an O_PATH one).
std::string fd_link(int fd);

// An object the worker holds open (`st` is its fstat): the agent's name for
// it, and whether the host reaches the same object under that name (then
// the name is also the host's, for the journal and for rollback).
struct OpenObject {
    std::string link;  // fd_link(fd)
    std::string path;  // as the agent sees it; "?" when unknown
    bool on_host = false;
};
OpenObject open_object(int fd, const struct stat& st);

}  // namespace sandboxd
