#include "bpf/net_plan.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <map>

namespace sandboxd {
namespace {


sbx_net_key key_for(const uint8_t* addr, bool ipv4, int prefix) {
    sbx_net_key k{};
    if (ipv4) {
        k.addr[10] = k.addr[11] = 0xff;
        std::memcpy(&k.addr[12], addr, 4);
        k.prefixlen = uint32_t(96 + prefix);
    } else {
        std::memcpy(k.addr, addr, 16);
        k.prefixlen = uint32_t(prefix);
    }
    return k;
}

std::string addr_text(const sbx_net_key& k) {
    char buf[INET6_ADDRSTRLEN];
    if (is_ipv4_mapped(k.addr) && k.prefixlen >= 96) {
        inet_ntop(AF_INET, &k.addr[12], buf, sizeof buf);
        return std::string(buf) + "/" + std::to_string(k.prefixlen - 96);
    }
    inet_ntop(AF_INET6, k.addr, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(k.prefixlen);
}

}  // namespace

bool is_ipv4_mapped(const uint8_t addr[16]) {
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(addr, prefix, sizeof prefix) == 0;
}

Result<NetPlan> plan_network(const Profile& p) {
    NetPlan plan;
    std::map<std::string, size_t> index;  // block text -> position in plan.allow
    auto add = [&](const sbx_net_key& key, const NetRule& r, const std::string& text) -> Status {
        std::string block = addr_text(key);
        auto [it, fresh] = index.try_emplace(block, plan.allow.size());
        if (fresh) plan.allow.push_back({key, {}, text});
        sbx_net_ports& ports = plan.allow[it->second].ports;
        for (uint32_t port = r.port_min; port <= r.port_max; ++port) ports.bits[port >> 6] |= 1ull << (port & 63);
        return {};
    };
    for (const auto& r : p.connect) {
        if (r.kind != NetRule::Kind::Host) {
            SANDBOXD_TRY(add(key_for(r.addr, r.kind == NetRule::Kind::Ipv4, r.prefix_len), r, r.text));
            continue;
        }
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (getaddrinfo(r.host.c_str(), nullptr, &hints, &res) != 0 || !res) {
            plan.unresolved.push_back(r.host);
            continue;
        }
        for (addrinfo* a = res; a; a = a->ai_next) {
            sbx_net_key k{};
            char buf[INET6_ADDRSTRLEN];
            if (a->ai_family == AF_INET) {
                auto* in = reinterpret_cast<sockaddr_in*>(a->ai_addr);
                k = key_for(reinterpret_cast<uint8_t*>(&in->sin_addr), true, 32);
                inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
            } else if (a->ai_family == AF_INET6) {
                auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ai_addr);
                k = key_for(in6->sin6_addr.s6_addr, false, 128);
                inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
            } else {
                continue;
            }
            // An answer of 0.0.0.0 or :: (a resolver's sinkhole) would
            // allow the host's own listeners on that port: the kernel
            // takes an unspecified destination for a local one. Left out.
            const uint8_t* a16 = k.addr;
            bool unspecified = true;
            for (int i = a->ai_family == AF_INET ? 12 : 0; i < 16; ++i) unspecified = unspecified && a16[i] == 0;
            if (unspecified) {
                plan.unresolved.push_back(r.host + " (answered " + buf + ", left out)");
                continue;
            }
            std::string line = r.host + " -> " + buf;
            bool seen = false;
            for (const auto& l : plan.resolved) seen = seen || l == line;
            if (seen) continue;
            plan.resolved.push_back(line);
            SANDBOXD_TRY(add(k, r, line));
        }
        freeaddrinfo(res);
    }
    if (plan.allow.size() > SBX_MAX_NET_RULES)
        return plain_error("network.connect: more than " + std::to_string(SBX_MAX_NET_RULES) + " address blocks");
    return plan;
}

}  // namespace sandboxd
