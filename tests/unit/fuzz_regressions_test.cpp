// Every input a fuzzer ever crashed the parser with, kept in
// tests/fuzz/regressions/, must now give a value or a clean error.
#include <dirent.h>

#include <catch2/catch.hpp>

#include "base/file_io.h"
#include "profile/loader.h"

TEST_CASE("fuzzer regressions parse to a value or an error") {
    std::string dir = std::string(SANDBOXD_SOURCE_DIR) + "/tests/fuzz/regressions";
    DIR* d = opendir(dir.c_str());
    REQUIRE(d);
    int n = 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        auto text = sandboxd::read_file(dir + "/" + e->d_name);
        REQUIRE(text.ok());
        INFO(e->d_name);
        auto r = sandboxd::parse_profile(*text, e->d_name);
        if (!r.ok()) CHECK_FALSE(r.error().message.empty());
        ++n;
    }
    closedir(d);
    CHECK(n > 0);
}
