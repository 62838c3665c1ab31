#include "base/file_io.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace sandboxd {

Result<UniqueFd> open_fd(const std::string& path, int flags, mode_t mode) {
    return open_at(AT_FDCWD, path, flags, mode);
}

UniqueFd open_resolved(int dirfd, const char* path, int flags, uint64_t resolve) {
    open_how how{};
    how.flags = uint64_t(flags | O_CLOEXEC);
    how.resolve = resolve;
    return UniqueFd(int(::syscall(SYS_openat2, dirfd, path, &how, sizeof how)));
}

Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
    int fd;
    do {
        fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno_error("cannot open " + path);
    return UniqueFd(fd);
}

Result<std::string> read_fd(int fd) {
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("read failed");
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

Result<std::string> read_file(const std::string& path) {
    auto fd = open_fd(path, O_RDONLY);
    if (!fd) return fd.error();
    auto data = read_fd(fd->get());
    if (!data) return errno_error("cannot read " + path);
    return data;
}

Status write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("write failed");
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Status write_file(const std::string& path, std::string_view data) {
    auto fd = open_fd(path, O_WRONLY);
    if (!fd) return fd.error();
    // Kernel interface files take one write() as one command: no retry loop
    // that could split the value.
    ssize_t n = ::write(fd->get(), data.data(), data.size());
    if (n < 0) return errno_error("cannot write '" + std::string(data) + "' to " + path);
    return {};
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode, Sync sync) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    auto fd = open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
    if (!fd) return fd.error();
    auto st = write_all(fd->get(), data);
    if (st.ok() && sync == Sync::Yes && ::fsync(fd->get()) != 0) st = errno_error("cannot fsync " + tmp);
    if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
        st = errno_error("cannot rename " + tmp + " to " + path);
    if (!st.ok()) {
        ::unlink(tmp.c_str());
        return Error{st.error().code, st.error().message};
    }
    return {};
}

Status make_dirs(const std::string& path, mode_t mode) {
    if (path.empty()) return {};
    for (size_t pos = 1;; ++pos) {
        pos = path.find('/', pos);
        std::string prefix = path.substr(0, pos);
        if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST)
            return errno_error("cannot create directory " + prefix);
        if (pos == std::string::npos) break;
    }
    return {};
}

}  // namespace sandboxd
