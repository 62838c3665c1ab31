#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "base/file_io.h"
#include "journal/journal.h"
#include "journal/json_text.h"
#include "journal/writer.h"
#include "tempdir.h"

using namespace sandboxd;
using sandboxd::test::TempDir;

namespace {

JournalEntry entry(const std::string& action, const std::string& target) {
    JournalEntry e;
    e.action = action;
    e.target = target;
    e.decision = "allow";
    e.rule = "test";
    e.layer = "unit";
    e.pid = 42;
    e.comm = "tester";
    return e;
}

}  // namespace

TEST_CASE("journal lines carry every field / with increasing seq") {
    TempDir d;
    auto j = Journal::open(d / "j.jsonl", "abcdefabcdef");
    REQUIRE(j.ok());
    auto e = entry("file.unlink", "/ws/a");
    e.snapshot = "snap/1";
    e.undo = {{"op", "restore"}, {"from", "snap/1"}};
    REQUIRE(*j->append(e) == 1);
    REQUIRE(*j->append(entry("session.end", "x")) == 2);
    auto lines = read_journal(d / "j.jsonl");
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == 2);
    const auto& first = (*lines)[0].value;
    for (const char* k : {"seq", "time", "session", "pid", "comm", "action", "target", "decision", "rule",
                          "layer", "errno", "snapshot", "undo"})
        CHECK(first.contains(k));
    CHECK(first["session"] == "abcdefabcdef");
    CHECK(first["snapshot"] == "snap/1");
    CHECK(first["undo"]["op"] == "restore");
    CHECK((*lines)[1].value["seq"] == 2);
    CHECK((*lines)[1].value["snapshot"].is_null());
}

TEST_CASE("two writers never reuse a sequence number") {
    TempDir d;
    std::string path = d / "j.jsonl";
    for (int w = 0; w < 2; ++w) {
        pid_t pid = fork();
        if (pid == 0) {
            auto j = Journal::open(path, "abcdefabcdef");
            for (int i = 0; i < 200; ++i)
                if (!j->append(entry("w" + std::to_string(w), std::to_string(i))).ok()) _exit(1);
            _exit(0);
        }
    }
    int st, ok = 0;
    while (wait(&st) > 0) ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    REQUIRE(ok == 2);
    auto lines = read_journal(path);
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == 400);
    for (size_t i = 0; i < lines->size(); ++i) CHECK((*lines)[i].value["seq"] == i + 1);
}

TEST_CASE("a torn last line is reported by the reader, and the next writer seals it as a line of its own") {
    TempDir d;
    std::string path = d / "j.jsonl";
    {
        auto j = Journal::open(path, "abcdefabcdef");
        REQUIRE(j->append(entry("a", "1")).ok());
    }
    { std::ofstream(path, std::ios::app) << "{\"seq\":2,\"tim"; }
    auto text = read_file(path);
    auto scan = scan_journal(*text);
    CHECK(scan.problems.empty());
    CHECK(scan.lines.size() == 1);
    CHECK_THAT(scan.torn_tail, Catch::Contains("line 2 is torn"));
    auto lines = read_journal(path);  // a crash's torn tail is not corruption
    REQUIRE(lines.ok());
    CHECK(lines->size() == 1);

    auto j = Journal::open(path, "abcdefabcdef");
    REQUIRE(j.ok());
    CHECK(*j->append(entry("b", "2")) == 3);
    auto after = read_journal(path);
    REQUIRE(after.ok());
    REQUIRE(after->size() == 3);
    CHECK((*after)[1].value["action"] == "journal.torn");
    CHECK((*after)[1].value["seq"] == 2);
    CHECK((*after)[1].value["detail"]["fragment"] == "{\"seq\":2,\"tim");
    CHECK((*after)[2].value["target"] == "2");
    CHECK(scan_journal(*read_file(path)).torn_tail.empty());
}

TEST_CASE("a whole last line that only lacks its newline is kept - a journal that is all fragment is sealed too") {
    TempDir d;
    std::string path = d / "j.jsonl";
    {
        auto j = Journal::open(path, "abcdefabcdef");
        REQUIRE(j->append(entry("a", "1")).ok());
    }
    auto text = *read_file(path);
    text.pop_back();  // the newline
    { std::ofstream(path, std::ios::trunc) << text; }
    {
        auto j = Journal::open(path, "abcdefabcdef");
        REQUIRE(j.ok());
        CHECK(*j->append(entry("b", "2")) == 2);
    }
    auto lines = read_journal(path);
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == 2);
    CHECK((*lines)[0].value["target"] == "1");

    std::string only = d / "k.jsonl";
    { std::ofstream(only) << "{\"seq\":1,\"ti"; }
    auto k = Journal::open(only, "abcdefabcdef");
    REQUIRE(k.ok());
    CHECK(*k->append(entry("c", "3")) == 2);
    auto sealed = read_journal(only);
    REQUIRE(sealed.ok());
    REQUIRE(sealed->size() == 2);
    CHECK((*sealed)[0].value["action"] == "journal.torn");
}

TEST_CASE("a line that is not a journal line in the middle is corruption") {
    TempDir d;
    std::string path = d / "j.jsonl";
    {
        auto j = Journal::open(path, "abcdefabcdef");
        REQUIRE(j->append(entry("a", "1")).ok());
    }
    { std::ofstream(path, std::ios::app) << "{\"seq\":2,\"tim\n"; }
    auto j = Journal::open(path, "abcdefabcdef");
    REQUIRE(j.ok());
    CHECK(*j->append(entry("b", "2")) == 2);
    auto corrupt = read_journal(path);
    REQUIRE_FALSE(corrupt.ok());
    CHECK_THAT(corrupt.error().message, Catch::Contains(": line 2: not a journal line"));
}

TEST_CASE("invalid UTF-8 in a target does not lose the line") {
    TempDir d;
    auto j = Journal::open(d / "j.jsonl", "abcdefabcdef");
    REQUIRE(j->append(entry("file.create", std::string("/ws/\xff\xfe", 6))).ok());
    auto lines = read_journal(d / "j.jsonl");
    REQUIRE(lines.ok());
    CHECK(lines->size() == 1);
}

TEST_CASE("the journal writer / writes queued lines in order, annotated, and they are all there after flush") {
    TempDir d;
    auto j = Journal::open(d / "j.jsonl", "abcdefabcdef");
    REQUIRE(j.ok());
    JournalWriter w(*j, [](JournalEntry& e) { e.rule = "annotated " + e.rule; });
    constexpr int kLines = 3000;  // more than one write() batch
    for (int i = 0; i < kLines; ++i) {
        auto e = entry("file.unlink", "/ws/f" + std::to_string(i));
        e.undo = {{"op", "restore"}, {"path", e.target}};
        e.sync_later = true;
        e.time_usec = 1'700'000'000'000'000 + i;
        w.push(std::move(e));
    }
    w.flush();
    REQUIRE_FALSE(j->unsynced());
    auto lines = read_journal(d / "j.jsonl");
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == size_t(kLines));
    for (int i = 0; i < kLines; ++i) {
        const auto& v = (*lines)[size_t(i)].value;
        CHECK(v["seq"] == uint64_t(i + 1));
        CHECK(v["target"] == "/ws/f" + std::to_string(i));
        CHECK(v["rule"] == "annotated test");
    }
    // The action's own time, not the time it was written.
    CHECK((*lines)[0].value["time"] == "2023-11-14T22:13:20.000000Z");
}

TEST_CASE("the journal writer / a writer destroyed with lines queued writes them all first") {
    TempDir d;
    auto j = Journal::open(d / "j.jsonl", "abcdefabcdef");
    REQUIRE(j.ok());
    {
        JournalWriter w(*j, nullptr);
        for (int i = 0; i < 100; ++i) w.push(entry("file.rename", "/ws/r" + std::to_string(i)));
    }
    auto lines = read_journal(d / "j.jsonl");
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == 100);
    CHECK(lines->back().value["target"] == "/ws/r99");
    // The room it kept ahead is given back.
    struct stat st{};
    REQUIRE(::stat((d / "j.jsonl").c_str(), &st) == 0);
    CHECK(st.st_blocks * 512 <= st.st_size + 64 * 1024);
}

TEST_CASE("the journal writer / keeps room ahead on disk once lines come, none before") {
    TempDir d;
    auto j = Journal::open(d / "j.jsonl", "abcdefabcdef");
    REQUIRE(j.ok());
    JournalWriter w(*j, nullptr);
    struct stat st{};
    REQUIRE(::stat((d / "j.jsonl").c_str(), &st) == 0);
    CHECK(st.st_blocks == 0);
    w.push(entry("file.unlink", "/ws/a"));
    w.flush();
    REQUIRE(::stat((d / "j.jsonl").c_str(), &st) == 0);
    CHECK(st.st_size > 0);
    CHECK(st.st_blocks * 512 >= JournalWriter::kRoomAhead);
    CHECK_FALSE(w.failure());
}

TEST_CASE("journal JSON text / strings survive escaping and only bytes that are not UTF-8 are replaced") {
    CHECK(valid_utf8("plain"));
    CHECK(valid_utf8("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é, €, an emoji
    CHECK_FALSE(valid_utf8("\xff"));
    CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(valid_utf8("\xe2\x82"));          // cut short
    for (std::string s : {std::string("a\"b\\c\n\t\r\b\f"), std::string("ctl\x01\x1f\x7f", 6),
                          std::string("\xc3\xa9t\xc3\xa9"), std::string("nul\0in", 6)}) {
        std::string out;
        append_json_string(out, s);
        CHECK(nlohmann::json::parse(out).get<std::string>() == s);
    }
    std::string out;
    append_json_string(out, std::string("a\xff" "b\xc3", 4));
    CHECK(nlohmann::json::parse(out).get<std::string>() == "a\xef\xbf\xbd" "b\xef\xbf\xbd");
}

// A file name the agent chose reaches an admin's terminal through
// `sandboxctl log --json`: 8-bit CSI/OSC and bidi overrides must not act.
TEST_CASE("journal JSON text / characters a terminal acts on are escaped - the string reads back the same") {
    const std::string hostile = "x\xc2\x9b" "2J\xc2\x9d" "1;pwned\xc2\x9c \xe2\x80\xaetxt.exe \xe2\x81\xa6\xe2\x80\xa8 \x7f \x1b[31m";
    std::string out;
    append_json_string(out, hostile);
    CHECK(nlohmann::json::parse(out).get<std::string>() == hostile);
    for (const char* raw : {"\xc2\x9b", "\xc2\x9d", "\xc2\x9c", "\xe2\x80\xae", "\xe2\x81\xa6", "\xe2\x80\xa8", "\x7f", "\x1b"})
        CHECK(out.find(raw) == std::string::npos);
    CHECK(out.find("\\u009b") != std::string::npos);
    CHECK(out.find("\\u202e") != std::string::npos);
    // Ordinary text beyond ASCII stays as it is.
    std::string plain;
    append_json_string(plain, "\xc3\xa9t\xc3\xa9 \xe2\x82\xac");
    CHECK(plain == "\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac\"");
    // A line written raw (an older journal, a tampered one) is made inert
    // for the terminal and still parses to the same record.
    std::string line = "{\"target\":\"" + std::string("a\xc2\x9b" "2J\xe2\x80\xae") + "\",\"seq\":1}";
    std::string safe = terminal_safe_json_line(line);
    CHECK(safe.find("\xc2\x9b") == std::string::npos);
    CHECK(safe.find("\xe2\x80\xae") == std::string::npos);
    CHECK(nlohmann::json::parse(safe) == nlohmann::json::parse(line));
    CHECK(terminal_safe_json_line("{\"a\":\"\x1b]0;t\x07\"}").find('\x1b') == std::string::npos);
}

TEST_CASE("journal JSON text / keys of a damaged line are read without trusting their type") {
    auto line = nlohmann::json::parse(
        R"({"action":{"x":1},"target":"t","hexed":{"hex":"6869"},"errno":"13","seq":7,"big":18446744073709551615,"neg":-4})");
    CHECK(text_at(line, "action").empty());  // an object, not text
    CHECK(text_at(line, "target") == "t");
    CHECK(text_at(line, "hexed") == "hi");
    CHECK(text_at(line, "missing").empty());
    CHECK(text_at(nlohmann::json::array({1}), "target").empty());
    CHECK_FALSE(integer_at(line, "errno").has_value());  // text, not a number
    CHECK(integer_at(line, "seq") == 7);
    CHECK(integer_at(line, "neg") == -4);
    CHECK_FALSE(integer_at(line, "big").has_value());  // beyond int64
    CHECK_FALSE(integer_at(line, "missing").has_value());
    CHECK_FALSE(integer_at(nlohmann::json("x"), "seq").has_value());
}

TEST_CASE("journal JSON text / undo records keep names that are not UTF-8 exactly") {
    std::string odd("caf\xe9\x01", 5);
    nlohmann::json undo = {{"op", "rename"}, {"from", odd}, {"to", "/ws/ok"}, {"replaced", {{"path", odd}}}};
    std::string text;
    append_exact_json(text, undo);
    nlohmann::json stored = nlohmann::json::parse(text);
    CHECK(stored["to"] == "/ws/ok");
    CHECK(stored["from"].is_object());
    CHECK(text_value(stored["from"]) == odd);
    CHECK(text_value(stored["replaced"]["path"]) == odd);
    // UTF-8 stays as it is; every other kind of value a record holds comes
    // back equal.
    nlohmann::json plain = {{"path", "/ws/\xc3\xa9 \"q\"\n"}, {"n", -3}, {"u", uint64_t(1) << 63}, {"b", true},
                            {"none", nullptr}, {"list", {1, "two", nlohmann::json::array()}}, {"empty", nlohmann::json::object()}};
    std::string plain_text;
    append_exact_json(plain_text, plain);
    CHECK(nlohmann::json::parse(plain_text) == plain);
    CHECK(text_value(nlohmann::json{{"hex", "6"}}).empty());    // odd length
    CHECK(text_value(nlohmann::json{{"hex", "zz"}}).empty());   // not hex
    CHECK(text_value(nlohmann::json(42)).empty());
}

// Rollback of a flooded journal took 7.5 times its size in memory (4.8 GB
// for 636 MB): it is now read a piece at a time, every line checked, only
// those wanted kept. The pieces are 1 MiB: lines cross their edges here.
TEST_CASE("a journal read a piece at a time: every line checked, only the wanted ones kept") {
    sandboxd::test::TempDir dir;
    std::string path = dir / "journal.jsonl";
    {
        std::ofstream out(path);
        for (int i = 1; i <= 30000; ++i) {
            out << "{\"seq\":" << i << ",\"action\":\"" << (i % 1000 == 0 ? "keep" : "file.read") << "\",\"target\":\""
                << std::string(size_t(i % 97), 'x') << "\"}\n";
            if (i == 20000) out << "not a journal line\n";
        }
        out << "{\"seq\":30001,\"action\":\"keep\"";  // torn: no newline
    }
    auto scan = sandboxd::scan_journal_file(path, [](const nlohmann::json& l) { return l["action"] == "keep"; });
    REQUIRE(scan.ok());
    REQUIRE(scan->lines.size() == 30);
    CHECK(scan->lines.front().value["seq"] == 1000);
    CHECK(scan->lines.front().line_no == 1000);
    CHECK(scan->lines.back().value["seq"] == 30000);
    CHECK(scan->lines.back().line_no == 30001);  // after the bad line
    CHECK(scan->problems == std::vector<std::string>{"line 20001: not a journal line"});
    CHECK(scan->torn_tail == "line 30002 is torn (no newline: its writer stopped while writing it)");
    // The same as reading it whole.
    auto whole = sandboxd::scan_journal(*sandboxd::read_journal_text(path));
    CHECK(whole.lines.size() == 30000);
    CHECK(whole.problems == scan->problems);
    CHECK(whole.torn_tail == scan->torn_tail);
    // Each kept line's place in the file: its text read again from there
    // (what rollback does with its steps, which it does not hold).
    auto text = *sandboxd::read_journal_text(path);
    for (const auto& l : scan->lines) {
        INFO(l.line_no);
        auto again = sandboxd::parse_journal_line(std::string_view(text).substr(l.offset, l.size));
        REQUIRE(again);
        CHECK(*again == l.value);
    }
}
