// sandboxctl log ID [--json] [--follow]: a session's journal, as a table or
// as its raw JSON Lines. Works for finished sessions too (journals outlive
// them); a line that does not parse is reported and skipped, never fatal.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/terminal_text.h"
#include "journal/journal.h"
#include "journal/json_text.h"
#include "commands.h"
#include "select.h"
#include "session/dirs.h"

namespace sandboxctl {
namespace {

// Every field as the terminal may show it: targets and thread names are
// the agent's choice (base/terminal_text.h).
std::string field(const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return "-";
    return sandboxd::terminal_safe(j[key].is_string()
                                       ? j[key].get<std::string>()
                                       : j[key].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void print_line(const std::string& line, uint64_t no, bool json) {
    if (json) {
        std::printf("%s\n", sandboxd::terminal_safe_json_line(line).c_str());
        return;
    }
    auto parsed = sandboxd::parse_journal_line(line);
    if (!parsed) {
        complain("journal line " + std::to_string(no) + " is not a journal line; skipped");
        return;
    }
    const nlohmann::json& j = *parsed;
    std::string time = field(j, "time");
    if (time.size() >= 23) time = time.substr(11, 12);  // HH:MM:SS.mmm
    std::string target = field(j, "target");
    if (target.size() > 60) target = target.substr(0, 57) + "...";
    std::string decision = field(j, "decision");
    std::string why = field(j, "rule");
    if (int64_t err = sandboxd::integer_at(j, "errno").value_or(0); err != 0) why += " (errno " + std::to_string(err) + ")";
    std::string snap = field(j, "snapshot");
    std::printf("%6s  %-12s  %7s  %-15s  %-14s  %-60s  %-5s  %s%s\n", field(j, "seq").c_str(), time.c_str(),
                field(j, "pid").c_str(), field(j, "comm").c_str(), field(j, "action").c_str(), target.c_str(),
                decision.c_str(), why.c_str(), snap == "-" ? "" : ("  snapshot " + snap).c_str());
}

}  // namespace

Action add_log(CLI::App& app) {
    auto* cmd = app.add_subcommand("log", "Show a session's journal (also after it ended)");
    struct Opts {
        std::string id;
        bool json = false;
        bool follow = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("id", o->id, "Session id (any unique prefix)")->required();
    cmd->add_flag("--json", o->json, "Raw JSON Lines");
    cmd->add_flag("--follow,-f", o->follow, "Keep printing new lines until the session ends");
    return [o] {
        auto dirs = sandboxd::SandboxdDirs::from_env();
        auto id = find_session_id(dirs, o->id);
        if (!id) {
            complain(id.error().describe());
            return 2;
        }
        std::string path = dirs.journal_path(*id);
        auto fd = sandboxd::open_fd(path, O_RDONLY);
        if (!fd) {
            complain(fd.error().describe());
            return 1;
        }
        if (!o->json)
            std::printf("%6s  %-12s  %7s  %-15s  %-14s  %-60s  %-5s  %s\n", "SEQ", "TIME", "PID", "COMM", "ACTION",
                        "TARGET", "DECISION", "RULE");
        std::string pending;
        uint64_t no = 0;
        for (;;) {
            char buf[65536];
            ssize_t n = ::read(fd->get(), buf, sizeof buf);
            if (n < 0) {
                complain(sandboxd::errno_error("cannot read " + path).describe());
                return 1;
            }
            if (n > 0) {
                pending.append(buf, size_t(n));
                size_t nl;
                while ((nl = pending.find('\n')) != std::string::npos) {
                    print_line(pending.substr(0, nl), ++no, o->json);
                    pending.erase(0, nl + 1);
                }
                std::fflush(stdout);
                continue;
            }
            // End of what is written: done, unless following a live session.
            if (!o->follow || ::access(dirs.record_path(*id).c_str(), F_OK) != 0) break;
            ::usleep(200000);
        }
        if (!pending.empty()) complain("journal ends in a torn line (" + std::to_string(pending.size()) + " bytes)");
        return 0;
    };
}

}  // namespace sandboxctl
