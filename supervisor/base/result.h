// One error style for the parent side: functions return Result<T>, which holds
// either a value or an Error (errno plus a sentence of context). A function
// either returns the error or logs it, never both, so every failure is
// reported exactly once, by whoever finally decides what to do about it.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace sandboxd {

struct Error {
    int code = 0;         // errno value, 0 when the failure is not a syscall's
    std::string message;  // what failed, with the object it failed on

    // "message: strerror(code)" or just the message when code is 0.
    std::string describe() const {
        if (code == 0) return message;
        return message + ": " + std::strerror(code);
    }
};

// Error from the current errno, captured before anything else can clobber it.
inline Error errno_error(std::string message) {
    int saved = errno;
    return Error{saved, std::move(message)};
}

inline Error plain_error(std::string message) { return Error{0, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

// Propagate a failed Result from the enclosing function.
#define SANDBOXD_TRY(expr)                                  \
    do {                                                    \
        auto&& sandboxd_try_r_ = (expr);                    \
        if (!sandboxd_try_r_.ok()) return sandboxd_try_r_.error(); \
    } while (0)

}  // namespace sandboxd
