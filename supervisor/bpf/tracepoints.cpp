#include "bpf/tracepoints.h"

#include <fcntl.h>
#include <sched.h>
#include <linux/perf_event.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "base/file_io.h"

namespace sandboxd {

Result<UniqueFd> open_tracefs() {
    // Not /sys/kernel/debug/tracing: looking there makes debugfs mount a
    // tracefs into the host's mount table.
    UniqueFd mounted(::open("/sys/kernel/tracing", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct statfs fs_info{};
    if (mounted && ::fstatfs(mounted.get(), &fs_info) == 0 && fs_info.f_type == TRACEFS_MAGIC) return mounted;
    UniqueFd fs(::fsopen("tracefs", FSOPEN_CLOEXEC));
    if (!fs) return errno_error("no tracefs is mounted and none can be made (the event stream reads its "
                                "tracepoints from one; CONFIG_TRACING)");
    if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        return errno_error("cannot create a private tracefs instance");
    UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
    if (!mnt) return errno_error("cannot mount a private tracefs instance");
    return mnt;
}

Result<uint64_t> tracepoint_id(int tracefs, const std::string& category, const std::string& name) {
    std::string where = "events/" + category + "/" + name + "/id";
    auto file = open_at(tracefs, where, O_RDONLY);
    if (!file && file.error().code == ENOENT)
        return Error{ENOENT, "this kernel has no tracepoint " + category + ":" + name +
                                 " for the event stream (CONFIG_FTRACE_SYSCALLS); a profile can run without file "
                                 "events: [events] files = false"};
    if (!file) return Error{file.error().code, "cannot read the id of tracepoint " + category + ":" + name};
    auto text = read_fd(file->get());
    if (!text) return text.error();
    char* end = nullptr;
    unsigned long long id = std::strtoull(text->c_str(), &end, 10);
    if (end == text->c_str() || (*end != '\n' && *end != 0))
        return plain_error("unreadable tracepoint id in tracefs " + where + ": " + *text);
    return uint64_t(id);
}

Result<UniqueFd> open_tracepoint(int tracefs, const std::string& category, const std::string& name) {
    auto id = tracepoint_id(tracefs, category, name);
    if (!id) return id.error();
    perf_event_attr attr{};
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.size = sizeof(attr);
    attr.config = *id;
    attr.sample_period = 1;
    attr.wakeup_events = 1;
    attr.disabled = 1;
    // One event is enough: the program hangs off the tracepoint itself,
    // not off the event's CPU. The CPU we run on: installing and enabling
    // an event on another one is a cross-CPU call each (about 30 us here,
    // for each of the session's tracepoints at every start).
    int cpu = ::sched_getcpu();
    int fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, cpu < 0 ? 0 : cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) return errno_error("cannot open the tracepoint " + category + ":" + name);
    return UniqueFd(fd);
}

}  // namespace sandboxd
