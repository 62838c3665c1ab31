// sandboxctl freeze|thaw ID...|--all: the kill switch's first half. Freezing
// stops every process of the session at once and keeps it for inspection.
#include "base/time_util.h"
#include "cgroup/control.h"
#include "commands.h"
#include "select.h"

namespace sandboxctl {
namespace {

constexpr int kFreezeTimeoutMs = 10000;

Action add_freezer(CLI::App& app, bool freeze) {
    auto* cmd = app.add_subcommand(freeze ? "freeze" : "thaw",
                                   freeze ? "Freeze sessions: every process stops at once"
                                          : "Thaw frozen sessions");
    struct Opts {
        std::vector<std::string> ids;
        bool all = false;
    };
    auto o = std::make_shared<Opts>();
    add_target_options(cmd, o->ids, o->all);
    return [o, freeze] {
        // Before touching anything: the agent may be keeping every CPU busy,
        // and the kill switch must not wait behind it.
        sandboxd::RealtimeBoost boost;
        auto sessions = select_sessions(o->ids, o->all);
        if (!sessions) {
            complain(sessions.error().describe());
            return 2;
        }
        int rc = 0;
        for (const auto& s : *sessions) {
            auto took = sandboxd::cgroup_set_frozen(s.record.cgroup, freeze, kFreezeTimeoutMs);
            if (!took) {
                complain(s.record.id + ": " + took.error().describe());
                rc = 1;
                continue;
            }
            double ms = double(*took) / 1e6;
            std::printf("%s %s in %.3f ms\n", freeze ? "frozen" : "thawed", s.record.id.c_str(), ms);
            std::fflush(stdout);
            if (auto st = journal_admin_action(s, freeze ? "session.freeze" : "session.thaw", "info", ms); !st)
                complain(s.record.id + ": not journaled: " + st.error().describe());
        }
        return rc;
    };
}

}  // namespace

Action add_freeze(CLI::App& app) { return add_freezer(app, true); }
Action add_thaw(CLI::App& app) { return add_freezer(app, false); }

}  // namespace sandboxctl
