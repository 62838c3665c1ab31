// The agent's view of the filesystem, as a plan for its private mount
// namespace: computed from the profile in the supervisor, carried out by the
// child (launch/mount_setup.cpp) before it drops privileges.
//
//   /tmp, /dev/shm  private tmpfs per session (noexec), except that trees the
//                   profile names beneath /tmp (a workspace in /tmp) are
//                   carried over into it;
//   read-only       the whole host tree is remounted read-only (chmod,
//                   chown, utimes and xattrs outside the write trees are
//                   not Landlock's to stop); write trees get writable
//                   bind mounts of their own;
//   noexec          everything outside the exec scope is noexec (the exec
//                   trees are bound onto themselves and made executable
//                   again): Landlock guards execve(), but not
//                   mmap(PROT_EXEC), so without this `ld.so ./copied-binary`
//                   would run a binary the agent wrote, and `ld.so
//                   /opt/tool` one it may only read;
//   protect         read-only bind mounts inside writable trees, and every
//                   directory between the writable tree and a protected
//                   path bound onto itself ("pinned"): the kernel refuses
//                   to rename or remove a mount point, so `mv .git x` cannot
//                   carry the protected hooks away and leave the agent free
//                   to make a new .git/hooks under the old name. A protected
//                   path that does not exist yet cannot be mounted over: its
//                   name is guarded by the snapshot gate instead (GuardedName);
//   hide            an empty read-only tmpfs over directories, /dev/null over
//                   files and sockets; sandboxd's own directories always;
//   /proc           a fresh procfs for the session's pid namespace.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "profile/profile.h"

namespace sandboxd {

// A name on the way to a protected path that does not exist when the
// session starts (a workspace without .git; a git worktree, whose .git is a
// file): its first component that is missing or not a directory, `name`,
// in the deepest existing directory on its way, (dev, ino). Directories are
// compared by identity, not by path, so no other path to the same directory
// gets around it; that directory is pinned (or is a writable tree's own
// mount), so it stays the one on the way.
//
// The protected path's own name is never made. A name on its way (`rest`
// is what follows it) may be made only as an empty directory, with mkdir,
// and its next name is then guarded in it: an agent may make ~/.config,
// never ~/.config/git, and never a .git file or a prepared directory
// renamed into place.
struct GuardedName {
    std::string protected_path;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string name;
    std::string rest;  // the components after `name`; empty for the path itself
    // What holds the name now (a .git file), if anything: 0 when missing.
    dev_t held_dev = 0;
    ino_t held_ino = 0;
    // The directory (dev, ino) is, as the host names it: the gate follows
    // the names on the way from it (gate/guards.h), whoever made them.
    std::string dir_path;
    // A hidden path's guard (filesystem.hide), not a protected one's: the
    // agent may not make the name either, nor move what leads there.
    bool hidden = false;
};

// The host's device files every session's own /dev has (bound from the
// host's /dev): they hold nothing of the host's.
inline constexpr const char* kSessionDevices[] = {"/dev/null",   "/dev/zero",    "/dev/full",
                                                   "/dev/random", "/dev/urandom", "/dev/tty"};

struct MountPlan {
    // Trees under /tmp the session must still see (the workspace, profile
    // paths), outermost only. Landlock rights add up along a path, so a tree
    // carried into the private /tmp also gets what /tmp grants: one outside
    // the write scope is therefore mounted read-only, and when one is
    // writable but not destroyable the private /tmp grants no destroy
    // rights either (tmp_destroy is false).
    struct Carried {
        std::string path;
        bool readonly = false;
        bool noexec = true;  // outside the exec scope
    };
    std::vector<Carried> carry_into_tmp;
    bool tmp_destroy = true;
    struct Writable {
        std::string path;
        bool noexec = true;  // outside the exec scope
    };
    // The whole host tree noexec (with read-only), and the outermost
    // existing exec trees executable again. Off in audit mode, and where
    // an exec tree is "/" (nothing would be noexec).
    bool noexec_root = true;
    std::vector<std::string> exec_trees;
    std::vector<Writable> writable;           // bind-remounted read-write
    std::vector<std::string> exec_again;      // exec trees inside noexec write trees
    struct Protected {
        std::string path;
        bool noexec = true;
    };
    std::vector<Protected> protect;
    std::vector<Protected> pinned;  // writable, but fixed in place (see above)
    std::vector<GuardedName> guarded;
    // vm.memfd_noexec=2 in the session's pid namespace; off only where the
    // kernel lacks it and the profile accepts that (memfd-noexec).
    bool memfd_noexec = true;
    std::vector<std::string> hide_dirs;
    std::vector<std::string> hide_files;
    // The session gets a /dev of its own: the harmless devices (null,
    // zero, full, random, urandom, tty), a devpts instance of its own for
    // the terminals it opens, and /dev/shm. The host's /dev holds every
    // other terminal of the agent's user (its keystrokes, its screen), and
    // on a desktop the sound, camera and input devices the seat's user may
    // open. Devices the profile names in a scope (/dev/kvm, /dev/dri) are
    // carried in, outermost only.
    std::vector<std::string> devices;
    // False in audit mode, which observes rather than denies: the host tree
    // stays as writable as the agent's own permissions make it.
    bool readonly_root = true;
};

// `self_hidden`: sandboxd's own runtime and state directories.
MountPlan plan_mounts(const Profile& p, const std::string& workspace, const std::vector<std::string>& self_hidden,
                      bool audit);

}  // namespace sandboxd
