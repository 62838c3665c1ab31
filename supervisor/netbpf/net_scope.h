// The network half of a profile, enforced by cgroup BPF programs on the
// session's cgroup (bpf/progs/net.bpf.c): connect and unconnected sendmsg
// only to the profile's `connect` entries, no bind, no raw/packet/vsock or
// unexpected netlink sockets. Every decision arrives as an event.
//
// Programs are attached with BPF_F_ALLOW_MULTI through the legacy attach
// call, not a link: an attachment lives as long as the cgroup, so if the
// supervisor dies the agent keeps its network scope (fail closed).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "profile/profile.h"
#include "sandboxd_bpf.h"

struct sbx_net;
struct ring_buffer;

namespace sandboxd {

// One allowed block: the trie key and its port ranges, built from the
// profile (host names resolved) before anything is loaded.
struct NetAllow {
    sbx_net_key key{};
    sbx_net_ports ports{};
    std::string text;  // "10.0.0.0/8" or "example.com -> 93.184.216.34"
};

struct NetPlan {
    std::vector<NetAllow> allow;
    std::vector<std::string> resolved;  // "host -> addr" lines for the journal
    std::vector<std::string> unresolved;  // host names that gave no address
};

// Pure apart from name resolution: merges entries with the same block.
Result<NetPlan> plan_network(const Profile& p);

class NetScope {
public:
    using EventFn = std::function<void(const sbx_event&)>;

    // Loads the programs with the plan in their maps.
    static Result<NetScope> load(const NetPlan& plan, bool audit);
    NetScope(NetScope&&) noexcept;
    NetScope& operator=(NetScope&&) noexcept;
    ~NetScope();

    // Attaches every program to the cgroup (a cgroup v2 directory fd).
    Status attach(int cgroup_fd);

    // Ring buffer fd to poll; consume() calls fn for each pending event.
    int events_fd() const;
    void consume(const EventFn& fn);
    uint64_t dropped() const;

private:
    NetScope() = default;
    struct SkelDeleter {
        void operator()(sbx_net* s) const;
    };
    struct RingDeleter {
        void operator()(ring_buffer* r) const;
    };
    std::unique_ptr<sbx_net, SkelDeleter> skel_;
    std::unique_ptr<ring_buffer, RingDeleter> ring_;
    std::unique_ptr<EventFn> fn_;  // stable address for the ring buffer callback
};

// "1.2.3.4:443" / "[::1]:53" for an event's destination.
std::string format_destination(const sbx_event& e);

}  // namespace sandboxd
