#include "session/record.h"

#include <nlohmann/json.hpp>

#include "base/file_io.h"

namespace sandboxd {

std::string record_to_json(const SessionRecord& r) {
    nlohmann::json j = {
        {"id", r.id},
        {"name", r.name},
        {"supervisor_pid", r.supervisor_pid},
        {"supervisor_start", r.supervisor_start},
        {"agent_pid", r.agent_pid},
        {"uid", r.uid},
        {"gid", r.gid},
        {"user", r.user},
        {"profile", r.profile},
        {"profile_source", r.profile_source},
        {"tier", r.tier},
        {"audit", r.audit},
        {"started_usec", r.started_usec},
        {"workspace", r.workspace},
        {"cgroup", r.cgroup},
        {"cgroup_v1", r.cgroup_v1},
        {"journal", r.journal},
        {"argv", r.argv},
    };
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<SessionRecord> record_from_json(std::string_view text, const std::string& origin) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return plain_error(origin + ": not a JSON object");
    SessionRecord r;
    try {
        r.id = j.at("id").get<std::string>();
        r.name = j.value("name", "");
        r.supervisor_pid = j.at("supervisor_pid").get<pid_t>();
        r.supervisor_start = j.at("supervisor_start").get<uint64_t>();
        r.agent_pid = j.value("agent_pid", 0);
        r.uid = j.at("uid").get<uid_t>();
        r.gid = j.at("gid").get<gid_t>();
        r.user = j.value("user", "");
        r.profile = j.value("profile", "");
        r.profile_source = j.value("profile_source", "");
        r.tier = j.value("tier", 2);
        r.audit = j.value("audit", false);
        r.started_usec = j.value("started_usec", int64_t(0));
        r.workspace = j.value("workspace", "");
        r.cgroup = j.at("cgroup").get<std::string>();
        r.cgroup_v1 = j.value("cgroup_v1", std::vector<std::string>{});
        r.journal = j.value("journal", "");
        r.argv = j.value("argv", std::vector<std::string>{});
    } catch (const nlohmann::json::exception& e) {
        return plain_error(origin + ": " + e.what());
    }
    // The cgroup paths are written to (freeze, kill) and removed: never
    // trust a record that points anywhere but a sandboxd session cgroup.
    auto ours = [&](const std::string& p) {
        return p.ends_with("/sandboxd/" + r.id) && p.starts_with("/sys/fs/cgroup/") && p.find("..") == std::string::npos;
    };
    if (r.id.size() != 12 || r.id.find_first_not_of("0123456789abcdef") != std::string::npos)
        return plain_error(origin + ": bad session id");
    if (!ours(r.cgroup)) return plain_error(origin + ": cgroup path is not a sandboxd session cgroup");
    for (const auto& p : r.cgroup_v1)
        if (!ours(p)) return plain_error(origin + ": cgroup path is not a sandboxd session cgroup");
    return r;
}

// Runtime state (the runtime directory is a tmpfs on a normal host, gone
// at reboot; a record left by a crash is reaped as stale): no fsync.
Status write_record(const std::string& path, const SessionRecord& r) {
    return write_file_atomic(path, record_to_json(r), 0644, Sync::No);
}

}  // namespace sandboxd
