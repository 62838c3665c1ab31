// Running programs from tests: argv, extra environment, captured output,
// a timeout that kills instead of hanging the suite.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace sandboxd::test {

struct ProcResult {
    int status = -1;  // exit code, or 128+N when killed by signal N
    std::string out;
    std::string err;
};

// Runs argv to completion. `env` entries ("K=V") are added to the current
// environment.
ProcResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
               int timeout_ms = 60000);

// A program left running while the test acts on it.
class Background {
public:
    Background(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
    ~Background();  // kills and reaps if still running
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

    pid_t pid() const { return pid_; }
    // Waits for exit, collecting output; returns the status as ProcResult.
    ProcResult wait(int timeout_ms = 60000);
    // Reads what stdout has produced so far until `needle` appears.
    bool wait_for_output(const std::string& needle, int timeout_ms);
    // What stdout has produced so far.
    const std::string& output() const { return out_buf_; }

private:
    pid_t pid_ = -1;
    int out_ = -1, err_ = -1;
    std::string out_buf_, err_buf_;
    bool done_ = false;
    ProcResult result_;
    size_t pump(int timeout_ms);  // bytes read
};

std::string env_get(const char* name, const char* fallback = "");

}  // namespace sandboxd::test
