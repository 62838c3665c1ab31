// Small, careful file helpers: whole-file reads of kernel and state files,
// atomic replacement of state files (a reader never sees half a record).
#pragma once

#include <linux/openat2.h>

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

// open(2) with O_CLOEXEC always added.
Result<UniqueFd> open_fd(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);
// openat2(2) with O_CLOEXEC added and `resolve` (RESOLVE_NO_SYMLINKS...)
// as how the path may be walked; errno says why not. It allocates
// nothing: the spawned child of a threaded process may call it.
UniqueFd open_resolved(int dirfd, const char* path, int flags, uint64_t resolve);

Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(int fd);

// Writes all of data to fd, retrying short writes and EINTR.
Status write_all(int fd, std::string_view data);

// Writes data to path (which must not exist or is truncated); for kernel
// interface files such as cgroup.freeze, where one write() is one command.
Status write_file(const std::string& path, std::string_view data);

// Writes to a temporary file in the same directory, fsyncs and renames over
// path, so readers see the old or the new content and never a torn one.
// Sync::No leaves out the fsync, for state that need not survive a crash
// (what lives under /run): readers still never see a torn file.
enum class Sync { Yes, No };
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode, Sync sync = Sync::Yes);

// mkdir -p with the given mode for every directory it creates.
Status make_dirs(const std::string& path, mode_t mode);

}  // namespace sandboxd
