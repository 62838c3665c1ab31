// The state entry of a live session: who runs what under which profile, and
// where its cgroups are. Written atomically; read by `sandboxctl` from any
// process on the host.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/process_start.h"
#include "base/result.h"

namespace sandboxd {

struct SessionRecord {
    std::string id;
    std::string name;
    pid_t supervisor_pid = 0;
    uint64_t supervisor_start = 0;  // /proc/PID/stat starttime: guards against pid reuse
    pid_t agent_pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string user;
    std::string profile;
    std::string profile_source;
    int tier = 2;
    bool audit = false;
    int64_t started_usec = 0;
    std::string workspace;
    std::string cgroup;                  // cgroup v2 directory
    std::vector<std::string> cgroup_v1;  // v1 controller directories (hybrid hosts)
    std::string journal;
    std::vector<std::string> argv;
};

std::string record_to_json(const SessionRecord& r);
Result<SessionRecord> record_from_json(std::string_view text, const std::string& origin);

Status write_record(const std::string& path, const SessionRecord& r);

}  // namespace sandboxd
