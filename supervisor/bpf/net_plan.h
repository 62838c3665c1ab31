// The network half of a profile as the entries the BPF programs read: one
// LPM trie key per address block (IPv4 as IPv4-mapped IPv6), a port bitmap
// per block, host names resolved at session start.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "profile/profile.h"
#include "sandboxd_bpf.h"

namespace sandboxd {

struct NetAllow {
    sbx_net_key key{};
    sbx_net_ports ports{};
    std::string text;  // "10.0.0.0/8:443" or "example.com -> 93.184.216.34"
};

struct NetPlan {
    std::vector<NetAllow> allow;
    std::vector<std::string> resolved;    // "host -> addr" lines for the journal
    std::vector<std::string> unresolved;  // host names that gave no address
};

// True for ::ffff:a.b.c.d, the form IPv4 addresses take in the maps.
bool is_ipv4_mapped(const uint8_t addr[16]);

// Merges entries for the same block; resolves host names (the only side
// effect), recording what each resolved to.
Result<NetPlan> plan_network(const Profile& p);

}  // namespace sandboxd
