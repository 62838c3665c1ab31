#pragma once

#include <string>

namespace sandboxd::test {

// A fresh directory, removed with everything in it at the end.
class TempDir {
public:
    // Under `base`: /tmp by default; /var/tmp for what must stay visible
    // from inside a session, which gets a private /tmp of its own.
    explicit TempDir(const char* prefix = "sandboxd-test", const char* base = "/tmp");
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
