#include "launch/identity.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

namespace sandboxd {
namespace {

bool parse_id(std::string_view s, uint32_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && out != uint32_t(-1);
}

Identity from_passwd(const passwd& pw) {
    Identity id;
    id.uid = pw.pw_uid;
    id.gid = pw.pw_gid;
    id.user = pw.pw_name;
    id.home = pw.pw_dir && pw.pw_dir[0] ? pw.pw_dir : "/nonexistent";
    id.shell = pw.pw_shell ? pw.pw_shell : "/bin/sh";
    int n = 64;
    std::vector<gid_t> groups(n);
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
        groups.resize(n);
        getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n);
    }
    groups.resize(n);
    id.groups = std::move(groups);
    return id;
}

Result<Identity> by_uid(uid_t uid) {
    if (const passwd* pw = getpwuid(uid)) return from_passwd(*pw);
    Identity id;
    id.uid = uid;
    id.gid = uid;
    id.user = std::to_string(uid);
    id.home = "/nonexistent";
    id.shell = "/bin/sh";
    return id;
}

}  // namespace

Result<Identity> resolve_identity(const std::optional<std::string>& spec) {
    if (!spec) {
        const char* sudo_uid = std::getenv("SUDO_UID");
        const char* sudo_gid = std::getenv("SUDO_GID");
        uint32_t uid = 0, gid = 0;
        if (sudo_uid && parse_id(sudo_uid, uid)) {
            auto id = by_uid(uid);
            if (id && sudo_gid && parse_id(sudo_gid, gid)) id->gid = gid;
            return id;
        }
        if (::geteuid() == 0) {
            auto id = by_uid(65534);
            if (id) id->gid = 65534;
            return id;
        }
        return by_uid(::geteuid());
    }

    std::string_view s = *spec;
    std::string_view user = s.substr(0, s.find(':'));
    std::optional<std::string_view> group_part;
    if (size_t c = s.find(':'); c != std::string_view::npos) group_part = s.substr(c + 1);
    if (user.empty())
        return plain_error("--user '" + *spec + "': expected USER[:GROUP] (names or numbers)");

    Result<Identity> id = plain_error("");
    uint32_t num = 0;
    if (parse_id(user, num)) {
        id = by_uid(num);
    } else if (const passwd* pw = getpwnam(std::string(user).c_str())) {
        id = from_passwd(*pw);
    } else {
        return plain_error("--user: no user named '" + std::string(user) + "' on this host");
    }
    if (group_part) {
        if (parse_id(*group_part, num)) {
            id->gid = num;
        } else if (const group* gr = getgrnam(std::string(*group_part).c_str())) {
            id->gid = gr->gr_gid;
        } else {
            return plain_error("--user: no group named '" + std::string(*group_part) + "' on this host");
        }
        id->groups = {id->gid};
    }
    return id;
}

}  // namespace sandboxd
