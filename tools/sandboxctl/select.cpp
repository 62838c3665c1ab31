#include "select.h"

#include <dirent.h>
#include <unistd.h>

#include "commands.h"
#include "journal/journal.h"

namespace sandboxctl {

sandboxd::Result<std::vector<sandboxd::SessionView>> select_sessions(const std::vector<std::string>& ids,
                                                                     bool all) {
    auto dirs = sandboxd::SandboxdDirs::from_env();
    if (all == !ids.empty())
        return sandboxd::plain_error("give session ids or --all (not both, not neither)");
    if (all) {
        std::vector<std::string> problems;
        auto sessions = sandboxd::list_sessions(dirs, problems);
        for (const auto& p : problems) complain("skipped: " + p);
        return sessions;
    }
    std::vector<sandboxd::SessionView> out;
    for (const auto& id : ids) {
        auto s = sandboxd::find_session(dirs, id);
        if (!s) return s.error();
        out.push_back(std::move(*s));
    }
    return out;
}

sandboxd::Status journal_admin_action(const sandboxd::SessionView& s, const std::string& action,
                                      const std::string& decision, double elapsed_ms) {
    if (s.record.journal.empty()) return {};
    auto j = sandboxd::Journal::open(s.record.journal, s.record.id);
    if (!j) return j.error();
    sandboxd::JournalEntry e = sandboxd::sandboxctl_entry(action, s.record.cgroup, decision, "admin");
    e.detail = {{"by_uid", ::getuid()}, {"elapsed_ms", elapsed_ms}};
    auto seq = j->append(e);
    if (!seq) return seq.error();
    return {};
}

void add_target_options(CLI::App* cmd, std::vector<std::string>& ids, bool& all) {
    cmd->add_option("id", ids, "Session id (any unique prefix) or name");
    cmd->add_flag("--all,-a", all, "Every session on this host");
}

// The id of the one session directory whose name starts with `prefix`.
sandboxd::Result<std::string> find_session_id(const sandboxd::SandboxdDirs& dirs, const std::string& prefix) {
    std::string base = dirs.state + "/sessions";
    DIR* d = ::opendir(base.c_str());
    if (!d && errno == ENOENT) return sandboxd::plain_error("no session journal matches '" + prefix + "': " + base + " does not exist");
    if (!d) return sandboxd::errno_error("cannot list " + base);
    std::vector<std::string> matches;
    while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.' && std::string(e->d_name).starts_with(prefix)) matches.emplace_back(e->d_name);
    ::closedir(d);
    if (prefix.empty() || matches.empty())
        return sandboxd::plain_error("no session journal matches '" + prefix + "' in " + base);
    if (matches.size() > 1)
        return sandboxd::plain_error("'" + prefix + "' matches " + std::to_string(matches.size()) +
                                     " sessions; give more of the id");
    return matches.front();
}

}  // namespace sandboxctl
