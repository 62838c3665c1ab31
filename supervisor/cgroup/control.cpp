#include "cgroup/control.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>

#include <sstream>

#include "base/file_io.h"
#include "base/time_util.h"

namespace sandboxd {
namespace {

// Looks up "key value" in a flat-keyed cgroup file such as cgroup.events.
bool keyed_value(const std::string& text, std::string_view key, std::string& value) {
    std::istringstream in(text);
    std::string k, v;
    while (in >> k >> v) {
        if (k == key) {
            value = v;
            return true;
        }
    }
    return false;
}

// Polls cgroup.events until `key` has `want`. kernfs signals changes with
// POLLPRI; the file must be re-read from offset 0 each time.
Status wait_event(const std::string& cgroup, std::string_view key, std::string_view want,
                  int timeout_ms) {
    std::string path = cgroup + "/cgroup.events";
    // A cgroup removed while we wait (its supervisor cleaned up after the
    // kill) is as empty as a cgroup can be.
    auto gone = [&](int err) { return (err == ENOENT || err == ENODEV) && key == "populated" && want == "0"; };
    auto fd = open_fd(path, O_RDONLY);
    if (!fd) {
        if (gone(fd.error().code)) return {};
        return fd.error();
    }
    int64_t deadline = monotonic_nsec() + int64_t(timeout_ms) * 1000000;
    for (;;) {
        if (::lseek(fd->get(), 0, SEEK_SET) < 0) {
            if (gone(errno)) return {};
            return errno_error("cannot rewind " + path);
        }
        auto text = read_fd(fd->get());
        if (!text) {
            if (gone(text.error().code)) return {};
            return Error{text.error().code, "cannot read " + path};
        }
        std::string value;
        if (!keyed_value(*text, key, value))
            return plain_error(path + " has no '" + std::string(key) + "' field");
        if (value == want) return {};
        int64_t left_ms = (deadline - monotonic_nsec()) / 1000000;
        if (left_ms <= 0)
            return Error{ETIMEDOUT, "timed out waiting for " + std::string(key) + " " +
                                        std::string(want) + " in " + path};
        pollfd p{fd->get(), POLLPRI, 0};
        // A bounded poll also covers a missed edge: we re-read regardless.
        if (::poll(&p, 1, int(std::min<int64_t>(left_ms, 100))) < 0 && errno != EINTR)
            return errno_error("poll on " + path + " failed");
    }
}

}  // namespace

Result<int64_t> cgroup_set_frozen(const std::string& cgroup, bool frozen, int timeout_ms) {
    int64_t start = monotonic_nsec();
    SANDBOXD_TRY(write_file(cgroup + "/cgroup.freeze", frozen ? "1" : "0"));
    SANDBOXD_TRY(wait_event(cgroup, "frozen", frozen ? "1" : "0", timeout_ms));
    return monotonic_nsec() - start;
}

Status cgroup_kill(const std::string& cgroup, int timeout_ms) {
    SANDBOXD_TRY(cgroup_send_kill(cgroup));
    return wait_event(cgroup, "populated", "0", timeout_ms);
}

Status cgroup_send_kill(const std::string& cgroup) { return write_file(cgroup + "/cgroup.kill", "1"); }

Status cgroup_wait_empty(const std::string& cgroup, int timeout_ms) {
    return wait_event(cgroup, "populated", "0", timeout_ms);
}

Result<int> cgroup_process_count(const std::string& cgroup) {
    auto procs = read_file(cgroup + "/cgroup.procs");
    if (!procs) return procs.error();
    int count = 0;
    for (char c : *procs) count += (c == '\n');
    DIR* dir = ::opendir(cgroup.c_str());
    if (!dir) return errno_error("cannot list " + cgroup);
    while (dirent* e = ::readdir(dir)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        auto sub = cgroup_process_count(cgroup + "/" + e->d_name);
        if (sub) count += *sub;
    }
    ::closedir(dir);
    return count;
}

Result<bool> cgroup_is_frozen(const std::string& cgroup) {
    auto text = read_file(cgroup + "/cgroup.events");
    if (!text) return text.error();
    std::string value;
    if (!keyed_value(*text, "frozen", value)) return plain_error(cgroup + ": no frozen field");
    return value == "1";
}

Result<uint64_t> cgroup_cpu_usage_usec(const std::string& cgroup) {
    auto text = read_file(cgroup + "/cpu.stat");
    if (!text) return text.error();
    std::string value;
    if (!keyed_value(*text, "usage_usec", value)) return plain_error(cgroup + ": no usage_usec");
    return std::stoull(value);
}

RealtimeBoost::RealtimeBoost() {
    old_policy_ = sched_getscheduler(0);
    sched_param old{};
    sched_getparam(0, &old);
    old_priority_ = old.sched_priority;
    sched_param p{};
    p.sched_priority = sched_get_priority_min(SCHED_FIFO) + 10;
    active_ = sched_setscheduler(0, SCHED_FIFO, &p) == 0;
}

RealtimeBoost::~RealtimeBoost() {
    if (!active_) return;
    sched_param p{};
    p.sched_priority = old_priority_;
    sched_setscheduler(0, old_policy_, &p);
}

}  // namespace sandboxd
