#include <catch2/catch.hpp>

#include "base/paths.h"

using sandboxd::normalize_path;
using sandboxd::path_is_under;

TEST_CASE("normalize_path collapses separators / dots and dot-dots") {
    CHECK(normalize_path("/") == "/");
    CHECK(normalize_path("//usr///lib/") == "/usr/lib");
    CHECK(normalize_path("/usr/./lib/../bin") == "/usr/bin");
    CHECK(normalize_path("/../../etc") == "/etc");
    CHECK(normalize_path("/a/b/../../..") == "/");
}

TEST_CASE("path_is_under compares whole components") {
    CHECK(path_is_under("/a/b", "/a"));
    CHECK(path_is_under("/a", "/a"));
    CHECK(path_is_under("/anything", "/"));
    CHECK_FALSE(path_is_under("/ab", "/a"));
    CHECK_FALSE(path_is_under("/a", "/a/b"));
}

TEST_CASE("paths: parent, last component and join") {
    CHECK(sandboxd::parent_path("/a/b") == "/a");
    CHECK(sandboxd::parent_path("/a") == "/");
    CHECK(sandboxd::parent_path("/") == "/");
    CHECK(sandboxd::last_component("/a/b") == "b");
    CHECK(sandboxd::last_component("/a") == "a");
    CHECK(sandboxd::join_path("/", "a") == "/a");
    CHECK(sandboxd::join_path("/a", "b") == "/a/b");
    CHECK(sandboxd::join_path("/a", "") == "/a");
}
