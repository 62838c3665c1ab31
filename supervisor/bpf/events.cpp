#include "bpf/events.h"

#include <arpa/inet.h>
#include <errno.h>

#include <cstring>

namespace sandboxd {
namespace {

std::string bounded(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

JournalEntry net_entry(const sbx_net_event& e) {
    static const char* kActions[] = {"", "net.connect", "net.sendmsg", "net.bind", "net.socket"};
    JournalEntry j;
    j.action = kActions[e.h.kind];
    j.target = e.h.kind == SBX_EV_SOCKET ? "family=" + std::to_string(e.family) + " type=" + std::to_string(e.port) +
                                               " protocol=" + std::to_string(e.protocol)
                                         : format_destination(e);
    j.decision = e.decision == SBX_ALLOW ? "allow" : e.decision == SBX_AUDIT ? "log" : "deny";
    j.rule = e.h.kind == SBX_EV_BIND     ? "network: no bind scope"
             : e.h.kind == SBX_EV_SOCKET ? "network: socket type"
             : e.decision == SBX_ALLOW   ? "network.connect"
                                         : "network.connect: no entry";
    j.layer = "cgroup-bpf";
    j.pid = int32_t(e.h.pid);
    j.comm = bounded(e.comm, sizeof e.comm);
    j.err = e.decision == SBX_DENY ? EPERM : 0;
    return j;
}

JournalEntry exec_entry(const sbx_exec_event& e) {
    JournalEntry j;
    j.action = "exec";
    j.target = bounded(e.path, sizeof e.path);
    j.decision = "allow";
    j.rule = "exec.allow";
    j.layer = "tracepoint";
    j.pid = int32_t(e.h.pid);
    j.comm = bounded(e.comm, sizeof e.comm);
    return j;
}

}  // namespace

std::optional<JournalEntry> journal_entry_for_event(const void* data, size_t size) {
    sbx_event_header h;
    if (size < sizeof h) return std::nullopt;
    std::memcpy(&h, data, sizeof h);
    switch (h.kind) {
        case SBX_EV_CONNECT:
        case SBX_EV_SENDMSG:
        case SBX_EV_BIND:
        case SBX_EV_SOCKET: {
            sbx_net_event e;
            if (size < sizeof e) return std::nullopt;
            std::memcpy(&e, data, sizeof e);
            return net_entry(e);
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

std::string format_destination(const sbx_net_event& e) {
    char buf[INET6_ADDRSTRLEN];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(e.addr, mapped, 12) == 0) {
        inet_ntop(AF_INET, &e.addr[12], buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(e.port);
    }
    inet_ntop(AF_INET6, e.addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(e.port);
}

}  // namespace sandboxd
