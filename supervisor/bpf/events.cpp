#include "bpf/events.h"
#include "bpf/net_plan.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <linux/limits.h>
#include <unistd.h>

#include <cstring>

#include "base/paths.h"
#include "profile/scope_check.h"

namespace sandboxd {
namespace {

std::string bounded(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

// After a path the event stream could not carry whole (the detail says
// which); the gate's own lines for the same calls have whole host paths.
constexpr const char* kCutMark = "\u2026[cut]";

JournalEntry net_entry(const sbx_net_event& e) {
    static const char* kActions[] = {"", "net.connect", "net.sendmsg", "net.bind",     "net.socket",
                                     "", "",            "net.inbound", "net.outbound", "net.socket"};
    JournalEntry j;
    j.action = e.h.kind < std::size(kActions) ? kActions[e.h.kind] : "net.unknown";
    if (e.h.kind == SBX_EV_OUTBOUND) {
        // A packet whose own destination no entry names (sent elsewhere
        // than the address its call named: an IPv6 routing header).
        j.target = format_destination(e);
        j.decision = e.decision == SBX_AUDIT ? "log" : "deny";
        j.rule = "network.connect: a packet to a destination no entry names";
        j.layer = "cgroup-bpf";
        j.err = e.decision == SBX_DENY ? EPERM : 0;
        j.detail = {{"refused_so_far", e.protocol}};
        return j;
    }
    if (e.h.kind == SBX_EV_INBOUND) {
        // Where it came from, to which listening port, and how many so far.
        bool datagram = e.family == SOCK_DGRAM;
        j.target = std::string(datagram ? "datagram" : "connection") + " from " + format_address(e.addr) +
                   " to port " + std::to_string(e.port);
        j.decision = e.decision == SBX_AUDIT ? "log" : "deny";
        j.rule = datagram ? "network.connect: not from a peer it names" : "network: no listen scope";
        j.layer = "cgroup-bpf";
        j.err = e.decision == SBX_DENY ? ECONNREFUSED : 0;
        j.detail = {{"refused_so_far", e.protocol}};
        return j;
    }
    bool socket = e.h.kind == SBX_EV_SOCKET || e.h.kind == SBX_EV_SOCKET_LIMIT;
    j.target = socket ? "family=" + std::to_string(e.family) + " type=" + std::to_string(e.port) +
                            " protocol=" + std::to_string(e.protocol)
                      : format_destination(e);
    j.decision = e.decision == SBX_ALLOW ? "allow" : e.decision == SBX_AUDIT ? "log" : "deny";
    j.pid = int32_t(e.h.pid);
    j.comm = bounded(e.comm, sizeof e.comm);
    // Past the first SBX_NET_EVENTS_IN_FULL decisions of its kind, one
    // journaled of many (every power of two): how many so far.
    if (e.so_far) j.detail = {{"sampled", true}, {"so_far", e.so_far}};
    if (e.layer == SBX_LAYER_LANDLOCK) {
        // Refused before any hook ran (bpf/progs/net_exits.bpf.h), the
        // address as the caller's memory held it when the call returned.
        j.rule = e.h.kind == SBX_EV_BIND ? "network: no bind scope" : "network.connect: no entry for this TCP port";
        j.layer = "landlock";
        j.err = EACCES;
        return j;
    }
    j.rule = e.h.kind == SBX_EV_BIND           ? "network: no bind scope"
             : e.h.kind == SBX_EV_SOCKET       ? "network: socket type"
             : e.h.kind == SBX_EV_SOCKET_LIMIT ? "network: at most " + std::to_string(SBX_MAX_INET_SOCKETS) +
                                                     " IPv4/IPv6 sockets open at once (the host's ports are shared)"
             : e.family == AF_UNIX       ? "unix sockets: only through the gate"
             : e.decision == SBX_ALLOW   ? "network.connect"
                                         : "network.connect: no entry";
    j.layer = "cgroup-bpf";
    j.err = e.decision == SBX_DENY ? EPERM : 0;
    return j;
}

JournalEntry exec_entry(const sbx_exec_event& e) {
    JournalEntry j;
    j.action = "exec";
    j.target = bounded(e.path, sizeof e.path);
    if (e.cut & SBX_CUT_PATH) {
        j.target += kCutMark;
        j.detail = {{"path_cut", true}};
    }
    j.decision = "allow";
    j.rule = "exec.allow";
    j.layer = "tracepoint";
    j.pid = int32_t(e.h.pid);
    j.comm = bounded(e.comm, sizeof e.comm);
    return j;
}

JournalEntry file_entry(const sbx_file_event& e) {
    static const char* kOps[] = {"",           "file.write", "file.read",  "file.unlink",  "file.rmdir",
                                 "file.mkdir", "file.rename", "file.link", "file.symlink", "file.truncate",
                                 "file.chmod", "file.chown", "file.utimes", "file.xattr",  "file.exec",
                                 "file.mknod"};
    JournalEntry j;
    j.action = e.op < std::size(kOps) ? kOps[e.op] : "file.unknown";
    j.target = bounded(e.path, sizeof e.path);
    if (e.cut & SBX_CUT_PATH) j.target += kCutMark;
    if (e.path2[0]) j.target += " -> " + bounded(e.path2, sizeof e.path2);
    if (e.cut & SBX_CUT_PATH2) j.target += kCutMark;
    j.layer = "tracepoint";
    j.pid = int32_t(e.h.pid);
    j.comm = bounded(e.comm, sizeof e.comm);
    if (e.ret < 0) {
        j.decision = "deny";
        j.err = -e.ret;
        j.rule = j.err == EROFS   ? "filesystem: read-only outside write trees"
                 : j.err == EXDEV ? "filesystem: link or rename across scopes"
                                  : "filesystem scope (Landlock) or file permissions";
    } else {
        j.decision = "allow";
        bool destroys = e.op == SBX_OP_UNLINK || e.op == SBX_OP_RMDIR || e.op == SBX_OP_RENAME ||
                        e.op == SBX_OP_TRUNCATE || (e.op == SBX_OP_OPEN_WRITE && (e.flags & 01000));
        j.rule = e.op == SBX_OP_OPEN_READ ? "filesystem.read" : destroys ? "filesystem.destroy" : "filesystem.write";
    }
    j.detail = {{"flags", e.flags}};
    if (e.so_far) {
        j.detail["sampled"] = true;
        j.detail["so_far"] = e.so_far;
    }
    if (e.cut & SBX_CUT_PATH) j.detail["path_cut"] = true;
    if (e.cut & SBX_CUT_PATH2) j.detail["path2_cut"] = true;
    return j;
}

}  // namespace

void mark_would_be_denial(JournalEntry& j, const Profile& profile, const std::string& workspace) {
    if (j.decision != "allow") return;
    FileAccess access;
    if (j.action == "exec" || j.action == "file.exec") access = FileAccess::Exec;
    else if (j.action == "file.read") access = FileAccess::Read;
    else if (j.action.starts_with("file.") && j.action != "file.reads")
        access = j.rule == "filesystem.destroy" ? FileAccess::Destroy : FileAccess::Write;
    else return;
    // "a -> b" for renames and links: every path named must pass.
    std::string_view rest = j.target;
    while (!rest.empty()) {
        size_t arrow = rest.find(" -> ");
        std::string path(rest.substr(0, arrow));
        rest = arrow == std::string_view::npos ? std::string_view() : rest.substr(arrow + 4);
        if (path.empty()) continue;
        std::string abs = normalize_path(path[0] == '/' ? path : workspace + "/" + path);
        if (auto rule = would_deny(profile, access, abs)) {
            j.decision = "log";
            j.rule = "would be denied: " + *rule;
            j.err = EACCES;
            return;
        }
    }
}

void name_program_of_descriptor_exec(JournalEntry& entry) {
    if (entry.action != "exec" || !(entry.target.starts_with("/dev/fd/") || entry.target.starts_with("/proc/")))
        return;
    char exe[PATH_MAX];
    ssize_t n = ::readlink(("/proc/" + std::to_string(entry.pid) + "/exe").c_str(), exe, sizeof exe - 1);
    if (n <= 0) return;  // gone already (or exec'd again): the line says what the kernel said
    if (!entry.detail.is_object()) entry.detail = nlohmann::json::object();
    entry.detail["program"] = std::string(exe, size_t(n));
}

std::optional<JournalEntry> journal_entry_for_event(const void* data, size_t size) {
    sbx_event_header h;
    if (size < sizeof h) return std::nullopt;
    std::memcpy(&h, data, sizeof h);
    switch (h.kind) {
        case SBX_EV_CONNECT:
        case SBX_EV_SENDMSG:
        case SBX_EV_BIND:
        case SBX_EV_SOCKET:
        case SBX_EV_SOCKET_LIMIT:
        case SBX_EV_INBOUND:
        case SBX_EV_OUTBOUND: {
            sbx_net_event e;
            if (size < sizeof e) return std::nullopt;
            std::memcpy(&e, data, sizeof e);
            return net_entry(e);
        }
        case SBX_EV_FILE: {
            sbx_file_event e;
            if (size < sizeof e) return std::nullopt;
            std::memcpy(&e, data, sizeof e);
            return file_entry(e);
        }
        case SBX_EV_EXEC: {
            sbx_exec_event e;
            if (size < sizeof e) return std::nullopt;
            std::memcpy(&e, data, sizeof e);
            return exec_entry(e);
        }
    }
    return std::nullopt;
}

std::string format_address(const sbx_u8 (&addr)[16]) {
    char buf[INET6_ADDRSTRLEN];
    if (is_ipv4_mapped(addr)) return inet_ntop(AF_INET, &addr[12], buf, sizeof buf);
    return inet_ntop(AF_INET6, addr, buf, sizeof buf);
}

std::string format_destination(const sbx_net_event& e) {
    if (e.family == AF_UNIX) return "unix socket (not through the gate)";
    std::string addr = format_address(e.addr);
    return (is_ipv4_mapped(e.addr) ? addr : "[" + addr + "]") + ":" + std::to_string(e.port);
}

}  // namespace sandboxd
