// sandboxctl ps: one line a session.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/terminal_text.h"
#include "base/time_util.h"
#include "commands.h"
#include "journal/json_text.h"
#include "session/registry.h"

namespace sandboxctl {

Action add_ps(CLI::App& app) {
    auto* cmd = app.add_subcommand("ps", "List sessions: state, user, profile, age, processes");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "One JSON object per line");
    return [json] {
        auto dirs = sandboxd::SandboxdDirs::from_env();
        std::vector<std::string> problems;
        auto sessions = sandboxd::list_sessions(dirs, problems);
        int64_t now = sandboxd::realtime_usec();
        if (!*json)
            std::printf("%-12s  %-12s  %-8s  %-10s  %-14s  %4s  %6s  %5s  %s\n", "ID", "NAME", "STATE",
                        "USER", "PROFILE", "TIER", "AGE", "PROCS", "COMMAND");
        for (const auto& s : sessions) {
            const auto& r = s.record;
            std::string cmdline;
            for (const auto& a : r.argv) cmdline += (cmdline.empty() ? "" : " ") + a;
            std::string age = sandboxd::format_age((now - r.started_usec) / 1000000);
            if (*json) {
                nlohmann::json j = {{"id", r.id},           {"name", r.name},
                                    {"state", sandboxd::session_state_name(s.state)},
                                    {"user", r.user},       {"uid", r.uid},
                                    {"profile", r.profile}, {"tier", r.tier},
                                    {"age_s", (now - r.started_usec) / 1000000},
                                    {"processes", s.processes}, {"argv", r.argv},
                                    {"cgroup", r.cgroup},   {"journal", r.journal}};
                std::printf("%s\n", sandboxd::terminal_safe_json_line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).c_str());
            } else {
                using sandboxd::terminal_safe;
                std::printf("%-12s  %-12s  %-8s  %-10s  %-14s  %4d  %6s  %5d  %s\n", terminal_safe(r.id).c_str(),
                            r.name.empty() ? "-" : terminal_safe(r.name).c_str(),
                            sandboxd::session_state_name(s.state), terminal_safe(r.user).c_str(),
                            terminal_safe(r.profile).c_str(), r.tier, age.c_str(), s.processes,
                            terminal_safe(cmdline).c_str());
            }
        }
        for (const auto& p : problems) complain("skipped: " + p);
        return 0;
    };
}

}  // namespace sandboxctl
