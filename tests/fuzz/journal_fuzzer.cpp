// Feeds arbitrary bytes as a session journal to rollback's planner (dry
// run, paths limited to /fuzz so that nothing on the host is walked): any
// input must give a plan or reported problems, never a crash or a hang.
// Input that is one JSON value also goes through the line writer's
// append_exact_json(), whose text must parse back to the same value.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "journal/json_text.h"
#include "snapshot/rollback.h"

namespace {

bool has_float(const nlohmann::json& v) {
    if (v.is_number_float()) return true;
    if (v.is_structured())
        for (const auto& item : v)
            if (has_float(item)) return true;
    return false;
}

void check_writer(const uint8_t* data, size_t size) {
    auto value = nlohmann::json::parse(data, data + size, nullptr, false);
    if (value.is_discarded()) return;
    std::string text;
    sandboxd::append_exact_json(text, value);
    auto back = nlohmann::json::parse(text, nullptr, false);
    if (back.is_discarded()) std::abort();  // the writer made text that is not JSON
    // The parser accepts only UTF-8, so nothing took the hex form; floats
    // (which journal records never hold) may not survive exactly.
    if (!has_float(value) && back != value) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    check_writer(data, size);
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
