#include "gate/operations.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/time_util.h"
#include "gate/handlers.h"
#include "gate/outcome.h"

namespace sandboxd {

void use_agent_umask(mode_t agent) {
    thread_local mode_t now = kWorkerUmask;
    if (agent == now) return;
    ::umask(agent);
    now = agent;
}

SnapshotStore& GateContext::store_on_mount(uint64_t mnt_id) {
    for (auto& s : *stores)
        if (s.mount_id() == mnt_id) return s;
    return stores->front();
}

void GateContext::note_made(const struct stat& st) {
    if (!sees_creates || made.size() >= kMaxMade) return;
    made[{st.st_dev, st.st_ino}] = realtime_usec();
}

void GateContext::note_made_at(int dir, const std::string& name) {
    struct stat st{};
    if (sees_creates && ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) note_made(st);
}

// The kernel shows cgroup.freeze as 1 before it has flagged the session's
// threads (it walks them after), so 1 is believed only if it still says so
// a moment later: a thread answered kRestartCall before it was flagged
// would see errno 513. The walk takes microseconds a thread.
bool GateContext::freezing() const {
    auto says_frozen = [this] {
        char c = 0;
        return ::pread(freeze_state, &c, 1, 0) == 1 && c == '1';
    };
    if (freeze_state < 0 || !says_frozen()) return false;
    ::usleep(10000);
    return says_frozen();
}

bool GateContext::call_pending() const {
    uint64_t id = call;
    return listener < 0 || ::ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

SnapshotStore& GateContext::store_on_dev(dev_t dev) {
    for (auto& s : *stores)
        if (s.dev() == dev) return s;
    return stores->front();
}

namespace {

GateOutcome perform(const GateRequest& r, GateContext& ctx) {
    const uint64_t* a = r.args;
    // Without a store only connect() is sent here; anything else would be
    // a filter out of step with its gate: refuse rather than act unkept.
    if (ctx.stores->empty() && r.nr != SYS_connect && r.nr != SYS_bind) return failed(ENOSYS);
    switch (r.nr) {
        case SYS_unlink: return do_unlink(r, ctx, false);
        case SYS_rmdir: return do_unlink(r, ctx, true);
        case SYS_unlinkat:
            if (a[2] & ~uint64_t(AT_REMOVEDIR)) return failed(EINVAL);
            return do_unlink(r, ctx, a[2] & AT_REMOVEDIR);
        case SYS_rename:
        case SYS_renameat: return do_rename(r, ctx, 0);
        case SYS_renameat2: return do_rename(r, ctx, unsigned(a[4]));
        case SYS_truncate: return do_truncate_path(r, ctx);
        case SYS_ftruncate: return truncate_file(r, ctx, "file.truncate", r.file.get(), off_t(int64_t(a[1])));
        case SYS_open: return do_open(r, ctx, int(a[1]), mode_t(a[2]));
        case SYS_openat: return do_open(r, ctx, int(a[2]), mode_t(a[3]));
        case SYS_creat: return do_open(r, ctx, O_CREAT | O_WRONLY | O_TRUNC, mode_t(a[1]));
        case SYS_chmod: case SYS_fchmod: case SYS_fchmodat:
        case SYS_chown: case SYS_lchown: case SYS_fchown: case SYS_fchownat:
        case SYS_setxattr: case SYS_lsetxattr: case SYS_fsetxattr:
        case SYS_removexattr: case SYS_lremovexattr: case SYS_fremovexattr:
            return do_metadata(r, ctx);
        case SYS_connect: return do_connect(r, ctx);
        case SYS_bind: return do_bind(r, ctx);
        case SYS_inotify_add_watch: return do_watch(r, ctx);
        case SYS_mkdir: return do_mkdir(r, ctx, mode_t(a[1]));
        case SYS_mkdirat: return do_mkdir(r, ctx, mode_t(a[2]));
        case SYS_mknod: return do_mknod(r, ctx, mode_t(a[1]), dev_t(a[2]));
        case SYS_mknodat: return do_mknod(r, ctx, mode_t(a[2]), dev_t(a[3]));
        case SYS_symlink: case SYS_symlinkat: return do_symlink(r, ctx);
        case SYS_link: return do_link(r, ctx, 0);
        case SYS_linkat: return do_link(r, ctx, int(a[4]));
    }
    return failed(ENOSYS);
}

}  // namespace

GateOutcome perform_gated(const GateRequest& r, GateContext& ctx) {
    ++ctx.operation;
    ctx.call = r.id;
    GateOutcome o = perform(r, ctx);
    o.own_line = bool(o.entry);
    // Snapshots dropped to make room for this operation's: its line says
    // which, so rollback can tell a dropped snapshot from a lost one.
    if (ctx.budget && !ctx.budget->dropped.empty()) {
        if (!o.entry) {
            o.entry = entry_for(r, "snapshot.drop", "snapshots of objects made during the session");
            o.entry->decision = "info";
            o.entry->rule = "snapshots.budget";
        }
        o.entry->detail["dropped_snapshots"] = std::move(ctx.budget->dropped);
        ctx.budget->dropped.clear();
    }
    return o;
}

}  // namespace sandboxd
