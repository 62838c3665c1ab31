// The inode number of an open descriptor or a path, for tests that check
// which object something reached.
#pragma once

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <string>

namespace sandboxd::test {

inline ino_t inode_of(int fd) {
    struct stat st{};
    REQUIRE(::fstat(fd, &st) == 0);
    return st.st_ino;
}

inline ino_t inode_of(const std::string& path) {
    struct stat st{};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_ino;
}

}  // namespace sandboxd::test
