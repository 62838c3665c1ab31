// sandboxctl kill ID...|--all: ends sessions (cgroup.kill) and returns once
// their cgroups are empty. Also clears sessions whose supervisor died.
#include "base/time_util.h"
#include "cgroup/control.h"
#include "commands.h"
#include "select.h"

namespace sandboxctl {
namespace {
constexpr int kTeardownWaitMs = 60000;
}  // namespace

Action add_kill(CLI::App& app) {
    auto* cmd = app.add_subcommand("kill", "Kill every process of sessions; returns when they are gone");
    struct Opts {
        std::vector<std::string> ids;
        bool all = false;
    };
    auto o = std::make_shared<Opts>();
    add_target_options(cmd, o->ids, o->all);
    return [o] {
        sandboxd::RealtimeBoost boost;
        auto sessions = select_sessions(o->ids, o->all);
        if (!sessions) {
            complain(sessions.error().describe());
            return 2;
        }
        int rc = 0;
        for (const auto& s : *sessions) {
            int64_t t0 = sandboxd::monotonic_nsec();
            auto elapsed_ms = [t0] { return double(sandboxd::monotonic_nsec() - t0) / 1e6; };
            if (s.state != sandboxd::SessionState::Stale) {
                if (auto st = sandboxd::cgroup_send_kill(s.record.cgroup); !st) {
                    complain(s.record.id + ": " + st.error().describe());
                    rc = 1;
                    continue;
                }
            }
            // Journaled as soon as it is done: every process has SIGKILL
            // now and runs no more of its code (and the line comes before
            // the supervisor's session.end).
            if (auto st = journal_admin_action(s, "session.kill", "info", elapsed_ms()); !st)
                complain(s.record.id + ": not journaled: " + st.error().describe());
            // The kernel's teardown of what the processes hold can take
            // seconds (an agent with a few hundred thousand memory
            // mappings: 9 s), which is waited for, not failed on.
            bool emptied = true;
            if (s.state != sandboxd::SessionState::Stale) {
                if (auto st = sandboxd::cgroup_wait_empty(s.record.cgroup, kTeardownWaitMs); !st) {
                    complain(s.record.id + ": killed (no process of it runs any more), but the kernel is still "
                                           "tearing its processes down after " +
                             std::to_string(kTeardownWaitMs / 1000) + " s: " + st.error().describe());
                    rc = 1;
                    emptied = false;
                }
            }
            double ms = elapsed_ms();
            if (!emptied) continue;
            // A live supervisor sees its agent die and cleans up itself; a
            // dead one cannot, so its leftovers are cleared here.
            if (s.state == sandboxd::SessionState::Orphaned || s.state == sandboxd::SessionState::Stale) {
                if (auto st = sandboxd::reap_stale(s); !st) {
                    complain(s.record.id + ": " + st.error().describe());
                    rc = 1;
                }
            }
            std::printf("killed %s in %.3f ms\n", s.record.id.c_str(), ms);
        }
        return rc;
    };
}

}  // namespace sandboxctl
