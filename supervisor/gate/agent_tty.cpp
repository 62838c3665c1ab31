#include "gate/agent_tty.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "base/file_io.h"
#include "gate/agent_view.h"

namespace sandboxd {
namespace {

// Unix98 pty slaves take majors 136 to 143, 256 minors each.
constexpr unsigned kFirstPtsMajor = 136, kPtsMajors = 8;

struct ThreadTty {
    pid_t session = 0;
    dev_t tty = 0;  // 0: none
};

// Fields 6 and 7 of /proc/TID/stat, counted from the ')' that ends the
// command name (which may hold spaces and parentheses itself).
std::optional<ThreadTty> thread_tty(int stat_fd) {
    char buf[1024];
    ssize_t n = stat_fd >= 0 ? ::pread(stat_fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) return std::nullopt;
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');
    if (!p) return std::nullopt;
    long fields[4];  // ppid, pgrp, session, tty_nr, after the state
    p = std::strchr(p + 2, ' ');
    for (long& f : fields) {
        if (!p) return std::nullopt;
        char* end = nullptr;
        f = std::strtol(p + 1, &end, 10);
        p = *end == ' ' ? end : nullptr;
    }
    // tty_nr is the kernel's encoding of a device number, which
    // major()/minor() read.
    unsigned long tty = static_cast<unsigned long>(fields[3]);
    return ThreadTty{pid_t(fields[2]), makedev(major(tty), minor(tty))};
}

}  // namespace

bool is_current_tty(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0); }

Result<UniqueFd> open_agent_tty(const GateRequest& r, const GateContext& ctx, int flags) {
    auto who = thread_tty(r.thread ? r.thread->stat.get() : -1);
    if (!who) return Error{ESRCH, "the calling thread is gone"};
    if (who->tty == 0) return Error{ENXIO, "the agent has no controlling terminal"};
    int reopen = (flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_DIRECTORY)) | O_NOCTTY | O_CLOEXEC;
    // The pty sandbox-run made: its master tells whose controlling
    // terminal it is (a slave tells only its own session).
    pid_t sid = 0;
    if (ctx.agent_tty >= 0 && ctx.agent_tty_master >= 0 && ::ioctl(ctx.agent_tty_master, TIOCGSID, &sid) == 0 &&
        sid == who->session) {
        UniqueFd fd(::open(fd_link(ctx.agent_tty).c_str(), reopen));
        if (!fd) return errno_error("cannot open the agent's terminal");
        return fd;
    }
    // Else one of the session's own ptys, which the agent made its
    // controlling terminal: the only other terminals it can reach.
    unsigned maj = major(who->tty);
    if (maj < kFirstPtsMajor || maj >= kFirstPtsMajor + kPtsMajors)
        return Error{ENXIO, "the agent's controlling terminal is none of its own"};
    std::string path = "dev/pts/" + std::to_string((maj - kFirstPtsMajor) * 256 + minor(who->tty));
    UniqueFd fd = open_resolved(r.root, path.c_str(), reopen | O_NOFOLLOW,
                                RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    struct stat st{};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != who->tty)
        return Error{ENXIO, "the agent's controlling terminal is none of its own"};
    return fd;
}

}  // namespace sandboxd
