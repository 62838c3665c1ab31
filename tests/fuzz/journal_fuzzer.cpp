// Feeds arbitrary bytes as a session journal to rollback's planner (dry
// run, paths limited to /fuzz so that nothing on the host is walked): any
// input must give a plan or reported problems, never a crash or a hang.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "snapshot/rollback.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/sandboxd-journal-fuzz." + std::to_string(::getpid()) + ".jsonl";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    ssize_t n = ::write(fd, data, size);
    ::close(fd);
    if (n != ssize_t(size)) return 0;
    sandboxd::RollbackOptions opts;
    opts.dry_run = true;
    opts.path = "/fuzz";
    auto report = sandboxd::rollback_session(path, opts, nullptr);
    (void)report.steps.size();
    return 0;
}
