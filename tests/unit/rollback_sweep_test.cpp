// Rollback's sweep (what the agent made that no journal line undoes) run on
// a hand-written journal: the session is still frozen, so its end is the
// rollback's own start.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/time_util.h"
#include "snapshot/rollback.h"
#include "tempdir.h"

using namespace sandboxd;
using nlohmann::json;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("rollback: what it writes anew is never swept as the agent's, even when the clock files are stamped with lags behind its start") {
    // File times come from the kernel's coarse clock, up to a tick behind
    // the one rollback reads for "now": a file it restores in that tick is
    // stamped before the frozen session's end, and was taken for one the
    // agent made and moved away again (a CI failure). Repeated, because
    // whether a restore lands in that tick is chance.
    int kept = 0;
    for (int round = 0; round < 40; ++round) {
        test::TempDir session("sandboxd-rb");
        std::string ws = session / "ws", store = session / "snapshots";
        REQUIRE(::mkdir(ws.c_str(), 0755) == 0);
        REQUIRE(::mkdir(store.c_str(), 0700) == 0);
        REQUIRE(::mkdir((store + "/000001").c_str(), 0700) == 0);
        session.write("snapshots/000001/big", "precious\n");
        session.write("ws/big", "x\n");  // what the agent wrote over it
        struct stat big{};
        REQUIRE(::stat((ws + "/big").c_str(), &big) == 0);
        json meta = {{"uid", ::getuid()}, {"gid", ::getgid()}, {"mode", 0644}, {"atime_ns", 0}, {"mtime_ns", 0}};
        json start = {{"seq", 1}, {"action", "session.start"},
                      {"detail", {{"started_usec", realtime_usec() - 5000000}, {"write_trees", {ws}},
                                  {"snapshot_stores", {store}}}}};
        json truncate = {{"seq", 2}, {"action", "file.truncate"},
                         {"undo", {{"op", "restore"}, {"how", "copy"}, {"path", ws + "/big"},
                                   {"snapshot", store + "/000001/big"}, {"ino", uint64_t(big.st_ino)}, {"meta", meta}}}};
        json rmdir = {{"seq", 3}, {"action", "file.rmdir"},
                      {"undo", {{"op", "restore"}, {"how", "mkdir"}, {"path", ws + "/dir"}, {"meta", meta}}}};
        std::string journal = session / "journal.jsonl";
        session.write("journal.jsonl", start.dump() + "\n" + truncate.dump() + "\n" + rmdir.dump() + "\n");

        RollbackReport rep = rollback_session(journal, RollbackOptions{}, nullptr);
        std::string steps;
        for (const auto& s : rep.steps) steps += s.status + " " + s.what + " " + s.detail + "\n";
        INFO("round " << round << "\n" << steps);
        REQUIRE(rep.problems.empty());
        CHECK(rep.errors == 0);
        CHECK(rep.done == 2);
        CHECK(read_text(ws + "/big") == "precious\n");
        struct stat dir{};
        CHECK(::stat((ws + "/dir").c_str(), &dir) == 0);
        kept += read_text(ws + "/big") == "precious\n";
    }
    CHECK(kept == 40);
}
