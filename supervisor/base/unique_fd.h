// Move-only owners for kernel objects. Every descriptor the supervisor opens
// lives in one of these, so the error path (the one nobody tests) closes it too.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <utility>

namespace sandboxd {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }

    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    explicit operator bool() const { return valid(); }

    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// A descriptor that is either its own or lent by an owner that keeps it
// open for as long as this is used (a cache's); get() either way.
class HeldFd {
public:
    HeldFd() = default;
    explicit HeldFd(UniqueFd owned) : owned_(std::move(owned)), fd_(owned_.get()) {}
    static HeldFd lent(int fd) {
        HeldFd h;
        h.fd_ = fd;
        return h;
    }
    HeldFd(HeldFd&& other) noexcept : owned_(std::move(other.owned_)), fd_(std::exchange(other.fd_, -1)) {}
    HeldFd& operator=(HeldFd&& other) noexcept {
        if (this != &other) {
            owned_ = std::move(other.owned_);
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

private:
    UniqueFd owned_;
    int fd_ = -1;
};

}  // namespace sandboxd
