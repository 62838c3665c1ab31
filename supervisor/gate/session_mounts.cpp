#include "gate/session_mounts.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "base/file_io.h"
#include "base/unique_fd.h"

namespace sandboxd {
namespace {

// The ids of the mounts /proc/.../mountinfo at `dir` lists (each line
// starts with one).
void read_ids(int dir, const char* name, std::set<uint64_t>& out) {
    UniqueFd f(::openat(dir, name, O_RDONLY | O_CLOEXEC));
    if (!f) return;
    auto text = read_fd(f.get());
    if (!text) return;
    for (size_t at = 0; at < text->size();) {
        size_t eol = text->find('\n', at);
        if (eol == std::string::npos) eol = text->size();
        uint64_t id = 0;
        size_t i = at;
        for (; i < eol && (*text)[i] >= '0' && (*text)[i] <= '9'; ++i) id = id * 10 + uint64_t((*text)[i] - '0');
        if (i > at) out.insert(id);
        at = eol + 1;
    }
}

}  // namespace

bool SessionMounts::on_host(int procdir, uint64_t mnt_id) {
    if (mnt_id == 0) return false;
    if (session_.count(mnt_id)) return false;
    if (host_.count(mnt_id)) return true;
    read_ids(procdir, "mountinfo", session_);
    if (session_.count(mnt_id)) return false;
    read_ids(AT_FDCWD, "/proc/self/mountinfo", host_);
    return host_.count(mnt_id) > 0;
}

uint64_t mount_id_of(int fd) {
    struct statx sx{};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID)) return 0;
    return sx.stx_mnt_id;
}

}  // namespace sandboxd
