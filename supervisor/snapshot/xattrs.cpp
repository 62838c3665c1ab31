#include "snapshot/xattrs.h"

#include <sys/xattr.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <vector>

#include "base/hex.h"

namespace sandboxd {

namespace {

bool kept_name(std::string_view name) {
    return name.starts_with("user.") || name == "system.posix_acl_access" || name == "system.posix_acl_default" ||
           name == "security.capability";
}

// One list or value of the kernel's: a small buffer first (most objects
// have a few short ones), then the size it asks for, again while it grows.
template <typename Call>
ssize_t read_sized(std::vector<char>& buf, Call call) {
    buf.resize(4096);
    for (int attempt = 0; attempt < 8; ++attempt) {
        ssize_t n = call(buf.data(), buf.size());
        if (n >= 0 || errno != ERANGE) return n;
        ssize_t need = call(nullptr, 0);
        if (need < 0) return need;
        buf.resize(size_t(need) + 1);
    }
    errno = ERANGE;
    return -1;
}

}  // namespace

Result<nlohmann::json> kept_xattrs(int fd) {
    // Through the descriptor's procfs link, which lands on the object
    // itself: also for an O_PATH descriptor (a directory the caller may not
    // open for reading, whose ACLs are still readable).
    std::string at = "/proc/thread-self/fd/" + std::to_string(fd);
    nlohmann::json kept = nlohmann::json::object();
    std::vector<char> names, value;
    ssize_t n = read_sized(names, [&](char* b, size_t s) { return ::listxattr(at.c_str(), b, s); });
    if (n < 0) {
        if (errno == ENOTSUP) return kept;
        return Error{errno, "no snapshot possible: cannot list its extended attributes"};
    }
    size_t total = 0;
    for (ssize_t i = 0; i < n;) {
        std::string name(names.data() + i);
        i += ssize_t(name.size()) + 1;
        if (!kept_name(name)) continue;
        ssize_t v = read_sized(value, [&](char* b, size_t s) { return ::getxattr(at.c_str(), name.c_str(), b, s); });
        if (v < 0 && errno == ENODATA) continue;  // removed since the list
        if (v < 0) return Error{errno, "no snapshot possible: cannot read its extended attribute " + name};
        total += size_t(v);
        if (total > kMaxKeptXattrBytes)
            return Error{E2BIG, "no snapshot possible: its extended attributes are larger than " +
                                    std::to_string(kMaxKeptXattrBytes) + " bytes"};
        kept[name] = to_hex(std::string_view(value.data(), size_t(v)));
    }
    return kept;
}

Status put_back_xattrs(int fd, const nlohmann::json& kept) {
    if (!kept.is_object()) return plain_error("undo record: xattrs is not an object");
    for (const auto& [name, hex] : kept.items()) {
        auto value = hex.is_string() ? from_hex(hex.get<std::string>()) : std::optional<std::string>();
        if (!kept_name(name) || !value) return plain_error("undo record: bad extended attribute " + name);
        if (::fsetxattr(fd, name.c_str(), value->data(), value->size(), 0) != 0)
            return errno_error("cannot set extended attribute " + name);
    }
    return {};
}

}  // namespace sandboxd
