// The host paths the gate's undo records name, when someone other than the
// agent moves the directories it works in: another session on the same
// workspace, or the host itself. A record must name where the object
// really was, or the operation must be refused: rollback, as root, puts
// things back where the record says.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

// (action, target, decision) of each file line of a session's journal.
struct Line {
    std::string action, target, decision;
};

std::vector<Line> file_lines(const Host& h, const std::string& id) {
    std::vector<Line> out;
    auto text = sandboxd::read_file(h.dirs().journal_path(id));
    REQUIRE(text);
    std::istringstream in(*text);
    for (std::string l; std::getline(in, l);) {
        auto j = nlohmann::json::parse(l);
        std::string action = j.value("action", "");
        if (action.starts_with("file.")) out.push_back({action, j.value("target", ""), j.value("decision", "")});
    }
    return out;
}

std::string ids_text(const std::vector<Line>& lines) {
    std::string s;
    for (const auto& l : lines) s += l.action + " " + l.target + " " + l.decision + "\n";
    return s;
}

}  // namespace

// Session B renames the directory session A is working in. A's gate had
// kept that directory's host path from A's last call there: A's next
// delete in it was journaled under the old name, and rollback restored the
// file into whatever B made there next. A red-team finding.
TEST_CASE("undo paths: a directory another session renames is journaled under its new name") {
    Host h;
    std::string ws = h.ws.path();
    ::mkdir((ws + "/d").c_str(), 0755);
    plant_file(ws + "/d/f1", "one\n");
    plant_file(ws + "/d/f2", "two\n");
    REQUIRE(::chown((ws + "/d").c_str(), kAgentUid, kAgentGid) == 0);
    std::string a_script = "cd " + shell_word(ws) + " && rm d/f1 && touch d/ready; " + shell_wait_for("e/moved") +
                           "rm e/f2 && echo gone";
    Background a(h.run_argv({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", ws, "--",
                             "/bin/sh", "-c", a_script}),
                 h.env());
    wait_for_path(ws + "/d/ready");
    auto b = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", ws, "--", "/bin/sh", "-c", "cd " + shell_word(ws) + " && mv d e && mkdir d && touch e/moved"});
    INFO(b.out << b.err);
    REQUIRE(b.status == 0);
    auto ra = a.wait(60000);
    INFO(ra.out << ra.err);
    REQUIRE(ra.status == 0);
    REQUIRE_THAT(ra.out, Catch::Contains("gone"));

    std::string id_a;  // the session that deleted d/f1
    for (const auto& id : list_dir(h.state / "sessions"))
        for (const auto& l : file_lines(h, id))
            if (l.target == ws + "/d/f1") id_a = id;
    REQUIRE(!id_a.empty());
    auto lines = file_lines(h, id_a);
    INFO(ids_text(lines));
    bool new_name = false, old_name = false;
    for (const auto& l : lines) {
        if (l.action != "file.unlink") continue;
        new_name |= l.target == ws + "/e/f2";
        old_name |= l.target == ws + "/d/f2";
    }
    CHECK(new_name);
    CHECK_FALSE(old_name);
    auto rb = h.ctl({"rollback", id_a});
    INFO(rb.out << rb.err);
    CHECK(*sandboxd::read_file(ws + "/e/f2") == "two\n");
    CHECK_FALSE(path_exists(ws + "/d/f2"));
}

// The host renames the workspace during the session. The agent still sees
// it where it was (its mounts keep their paths), so the gate's check of the
// agent's descriptor finds nothing wrong: directories it had kept were
// journaled under the old host paths, and rollback rebuilt the old tree as
// root and restored into it. Directories it had not kept were refused, as
// nothing reaches them from the host at that path. A red-team finding.
TEST_CASE("undo paths: directories the host moves away are not journaled under their old names") {
    Host h;
    std::string ws = h.ws / "w", moved = h.ws / "w_old";
    for (const char* d : {"", "/a", "/b"}) {
        REQUIRE(::mkdir((ws + d).c_str(), 0755) == 0);
        REQUIRE(::chown((ws + d).c_str(), kAgentUid, kAgentGid) == 0);
    }
    for (const char* f : {"/a/1", "/a/2", "/b/1", "/b/2"}) plant_file(ws + f, std::string(f) + "\n");
    std::string script = "cd " + shell_word(ws) + " && rm a/1 b/1 && touch b/ready; " + shell_wait_for("a/go") +
                         "rm a/2; rm b/2; echo done";
    auto r = h.run_meanwhile({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", ws, "--",
                              "/bin/sh", "-c", script},
                             [&] {
                                 wait_for_path(ws + "/b/ready");
                                 REQUIRE(::rename(ws.c_str(), moved.c_str()) == 0);
                                 plant_file(moved + "/a/go", "");
                             });
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.out, Catch::Contains("done"));
    auto lines = file_lines(h, only_session(h));
    INFO(ids_text(lines));
    for (const auto& l : lines) {
        if (l.target == ws + "/a/2" || l.target == ws + "/b/2") CHECK(l.decision != "allow");
    }
    // What the agent could not delete is still there, under the new name.
    CHECK(*sandboxd::read_file(moved + "/a/2") == "/a/2\n");
    CHECK(*sandboxd::read_file(moved + "/b/2") == "/b/2\n");
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK_FALSE(path_exists(ws + "/a/2"));
    CHECK_FALSE(path_exists(ws + "/b/2"));
}
