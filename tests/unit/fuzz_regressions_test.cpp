// Every input a fuzzer ever crashed a parser with, kept under
// tests/fuzz/regressions/<parser>/, must now give a value or a clean error.
#include <dirent.h>

#include <functional>
#include <string>

#include <catch2/catch.hpp>

#include "base/file_io.h"
#include "profile/loader.h"
#include "snapshot/rollback.h"

namespace {

// Calls `each` with the name and path of every file in the named
// regressions folder; returns how many there were.
int for_each_regression(const char* parser, const std::function<void(const std::string&, const std::string&)>& each) {
    std::string dir = std::string(SANDBOXD_SOURCE_DIR) + "/tests/fuzz/regressions/" + parser;
    DIR* d = opendir(dir.c_str());
    REQUIRE(d);
    int n = 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        each(e->d_name, dir + "/" + e->d_name);
        ++n;
    }
    closedir(d);
    return n;
}

}  // namespace

TEST_CASE("fuzzer regressions: profiles parse to a value or an error") {
    int n = for_each_regression("profile", [](const std::string& name, const std::string& path) {
        auto text = sandboxd::read_file(path);
        REQUIRE(text.ok());
        INFO(name);
        auto r = sandboxd::parse_profile(*text, name);
        if (!r.ok()) CHECK_FALSE(r.error().message.empty());
    });
    CHECK(n > 0);
}

TEST_CASE("fuzzer regressions: journals give rollback a plan or reported problems") {
    int n = for_each_regression("journal", [](const std::string& name, const std::string& path) {
        INFO(name);
        sandboxd::RollbackOptions opts;
        opts.dry_run = true;
        opts.path = "/fuzz";  // nothing on the host is walked
        sandboxd::RollbackReport report;
        REQUIRE_NOTHROW(report = sandboxd::rollback_session(path, opts, nullptr));
        CHECK(report.done == 0);
    });
    CHECK(n > 0);
}
