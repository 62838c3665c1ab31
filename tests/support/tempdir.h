#pragma once

#include <string>

namespace sandboxd::test {

// A fresh directory under /tmp, removed with everything in it at the end.
class TempDir {
public:
    explicit TempDir(const char* prefix = "sandboxd-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }
    // Writes a file below the directory.
    void write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

}  // namespace sandboxd::test
