// sandboxctl rollback ID [--to SEQ] [--path PATH] [--dry-run] [--force]:
// undoes what a session changed, newest first, from its journal and
// snapshots. A live session must be frozen first (a running agent would
// keep changing what is being put back); a finished one any time.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/file_io.h"
#include "base/paths.h"
#include "base/terminal_text.h"

#include "commands.h"
#include "journal/journal.h"
#include "journal/json_text.h"
#include "select.h"
#include "session/dirs.h"
#include "session/registry.h"
#include "snapshot/rollback.h"

namespace sandboxctl {
namespace {

constexpr rlim_t kDescriptors = 16384;

// A frozen session's supervisor writes "session.quiesced" once every line
// of what the agent did is written (the gate answers the agent before its
// line is): waits for one from this frozen spell, i.e. after the last thaw
// (sandboxctl's own freeze line may come before or after it).
bool wait_quiesced(const std::string& journal_path, int timeout_ms) {
    for (int waited = 0;; waited += 20) {
        auto course = [](const nlohmann::json& l) { return sandboxd::text_at(l, "action").starts_with("session."); };
        if (auto scan = sandboxd::scan_journal_file(journal_path, course)) {
            uint64_t thawed = 0, quiesced = 0;
            for (const auto& l : scan->lines) {
                std::string action = sandboxd::text_at(l.value, "action");
                if (action == "session.thaw" || action == "session.resumed") thawed = l.line_no;
                if (action == "session.quiesced") quiesced = l.line_no;
            }
            if (quiesced > thawed) return true;
        }
        if (waited >= timeout_ms) return false;
        ::usleep(20 * 1000);
    }
}

}  // namespace

Action add_rollback(CLI::App& app) {
    auto* cmd = app.add_subcommand("rollback", "Undo a session's changes from its snapshots (newest first)");
    struct Opts {
        std::string id;
        uint64_t to = 0;
        std::string path;
        bool dry_run = false;
        bool force = false;
        bool json = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("id", o->id, "Session id (any unique prefix)")->required();
    auto* to = cmd->add_option("--to", o->to, "Undo only what came after this journal seq");
    auto* path = cmd->add_option("--path", o->path, "Undo only what touched this path (or below it)");
    cmd->add_flag("--dry-run,-n", o->dry_run, "Print the plan; change nothing");
    cmd->add_flag("--force", o->force, "Overwrite what was changed after the session instead of stopping");
    cmd->add_flag("--json", o->json, "The report as JSON");
    return [o, to, path] {
        auto dirs = sandboxd::SandboxdDirs::from_env();
        auto id = find_session_id(dirs, o->id);
        if (!id) {
            complain(id.error().describe());
            return 2;
        }
        if (path->count() && (o->path.empty() || o->path.front() != '/')) {
            complain("--path must be an absolute path");
            return 2;
        }
        if (auto live = sandboxd::find_session(dirs, *id); live && live->state == sandboxd::SessionState::Running) {
            complain("session " + *id + " is running; freeze it first (sandboxctl freeze " + *id + ")");
            return 1;
        }
        if (auto live = sandboxd::find_session(dirs, *id); live && live->state == sandboxd::SessionState::Frozen &&
                                                             !wait_quiesced(dirs.journal_path(*id), 5000))
            complain("warning: the session's supervisor has not said that every line is written; a snapshot it "
                     "has not journaled yet shows as an orphan");
        // The sweep holds a descriptor for each level of a tree it walks
        // (up to 4096): past about 1,000 the usual 1024 ran out, and a
        // deep tree the agent made stayed (EMFILE; a red-team finding).
        rlimit files{};
        if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < kDescriptors) {
            files.rlim_cur = std::min<rlim_t>(files.rlim_max, kDescriptors);
            (void)::setrlimit(RLIMIT_NOFILE, &files);
        }
        sandboxd::RollbackOptions ro;
        if (to->count()) ro.to_seq = o->to;
        // "ws/.." is the directory above the workspace, as the kernel
        // would take it, never a path that only looks as if under it.
        if (path->count()) ro.path = sandboxd::normalize_path(o->path);
        ro.dry_run = o->dry_run;
        ro.force = o->force;
        std::string journal_path = dirs.journal_path(*id);
        // A dry run writes nothing, not even the seal of a torn last line
        // that opening the journal for appending would add.
        std::optional<sandboxd::Journal> journal;
        if (!o->dry_run) {
            auto opened = sandboxd::Journal::open(journal_path, *id);
            if (!opened) {
                complain(opened.error().describe());
                return 1;
            }
            journal.emplace(std::move(*opened));
        }
        auto rep = sandboxd::rollback_session(journal_path, ro, journal ? &*journal : nullptr);
        for (const auto& p : rep.problems) complain(p);
        if (o->json) {
            nlohmann::json j = {{"session", *id},       {"done", rep.done},         {"conflicts", rep.conflicts},
                                {"errors", rep.errors},   {"orphans", rep.orphans},   {"problems", rep.problems},
                                {"steps", nlohmann::json::array()}};
            for (const auto& s : rep.steps)
                j["steps"].push_back({{"seq", s.seq}, {"what", s.what}, {"status", s.status}, {"detail", s.detail}});
            // Paths are any bytes; JSON text is UTF-8.
            std::printf("%s\n", sandboxd::terminal_safe_json_line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).c_str());
        } else {
            for (const auto& s : rep.steps)
                std::printf("%6s  %-8s  %s%s\n", s.seq ? std::to_string(s.seq).c_str() : "-", s.status.c_str(),
                            sandboxd::terminal_safe(s.what).c_str(),
                            s.detail.empty() ? "" : ("\n                  " + sandboxd::terminal_safe(s.detail)).c_str());
            std::printf("%zu step(s): %d done, %d conflict(s), %d error(s)%s%s\n", rep.steps.size(), rep.done,
                        rep.conflicts, rep.errors,
                        rep.orphans ? (", " + std::to_string(rep.orphans) + " orphan snapshot(s) kept").c_str() : "",
                        o->dry_run || !rep.problems.empty() ? " (dry run: nothing changed)" : "");
        }
        if (!rep.problems.empty() && !o->dry_run) return 1;
        return rep.conflicts || rep.errors || rep.orphans ? 1 : 0;
    };
}

}  // namespace sandboxctl
