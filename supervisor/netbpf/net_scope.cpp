#include "netbpf/net_scope.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netdb.h>

#include <cstring>
#include <map>

#include "net.skel.h"

static_assert(sizeof(sbx_net_key) == 20, "sbx_net_key layout is shared with BPF");
static_assert(sizeof(sbx_net_ports) == 8192, "sbx_net_ports layout is shared with BPF");
static_assert(sizeof(sbx_config) == 16, "sbx_config layout is shared with BPF");
static_assert(sizeof(sbx_event) == 64, "sbx_event layout is shared with BPF");
static_assert(offsetof(sbx_event, addr) == 28 && offsetof(sbx_event, comm) == 44, "sbx_event layout is shared with BPF");

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
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(k.addr, mapped, 12) == 0 && k.prefixlen >= 96) {
        inet_ntop(AF_INET, &k.addr[12], buf, sizeof buf);
        return std::string(buf) + "/" + std::to_string(k.prefixlen - 96);
    }
    inet_ntop(AF_INET6, k.addr, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(k.prefixlen);
}

int on_event(void* ctx, void* data, size_t size) {
    if (size < sizeof(sbx_event)) return 0;
    sbx_event e;
    std::memcpy(&e, data, sizeof e);
    (*static_cast<NetScope::EventFn*>(ctx))(e);
    return 0;
}

}  // namespace

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

void NetScope::SkelDeleter::operator()(sbx_net* s) const { sbx_net__destroy(s); }
void NetScope::RingDeleter::operator()(ring_buffer* r) const { ring_buffer__free(r); }

NetScope::NetScope(NetScope&&) noexcept = default;
NetScope& NetScope::operator=(NetScope&&) noexcept = default;
NetScope::~NetScope() = default;

Result<NetScope> NetScope::load(const NetPlan& plan, bool audit) {
    NetScope s;
    s.skel_.reset(sbx_net__open_and_load());
    if (!s.skel_)
        return errno_error("cannot load the network BPF programs (cgroup BPF needs CAP_BPF and a kernel with "
                           "CONFIG_CGROUP_BPF)");
    uint32_t zero = 0;
    sbx_config cfg{};
    cfg.audit = audit ? 1 : 0;
    if (bpf_map_update_elem(bpf_map__fd(s.skel_->maps.config), &zero, &cfg, BPF_ANY) != 0)
        return errno_error("cannot configure the network BPF programs");
    int map = bpf_map__fd(s.skel_->maps.allow_connect);
    for (const auto& a : plan.allow)
        if (bpf_map_update_elem(map, &a.key, &a.ports, BPF_ANY) != 0)
            return errno_error("cannot add network rule " + a.text);
    s.fn_ = std::make_unique<EventFn>();
    s.ring_.reset(ring_buffer__new(bpf_map__fd(s.skel_->maps.events), on_event, s.fn_.get(), nullptr));
    if (!s.ring_) return errno_error("cannot open the network event ring buffer");
    return s;
}

Status NetScope::attach(int cgroup_fd) {
    struct {
        bpf_program* prog;
        bpf_attach_type type;
        const char* name;
    } hooks[] = {
        {skel_->progs.sbx_connect4, BPF_CGROUP_INET4_CONNECT, "connect4"},
        {skel_->progs.sbx_connect6, BPF_CGROUP_INET6_CONNECT, "connect6"},
        {skel_->progs.sbx_sendmsg4, BPF_CGROUP_UDP4_SENDMSG, "sendmsg4"},
        {skel_->progs.sbx_sendmsg6, BPF_CGROUP_UDP6_SENDMSG, "sendmsg6"},
        {skel_->progs.sbx_bind4, BPF_CGROUP_INET4_BIND, "bind4"},
        {skel_->progs.sbx_bind6, BPF_CGROUP_INET6_BIND, "bind6"},
        {skel_->progs.sbx_sock_create, BPF_CGROUP_INET_SOCK_CREATE, "sock_create"},
    };
    for (const auto& h : hooks)
        if (bpf_prog_attach(bpf_program__fd(h.prog), cgroup_fd, h.type, BPF_F_ALLOW_MULTI) != 0)
            return errno_error(std::string("cannot attach the ") + h.name + " BPF program to the session cgroup");
    return {};
}

int NetScope::events_fd() const { return ring_buffer__epoll_fd(ring_.get()); }

void NetScope::consume(const EventFn& fn) {
    *fn_ = fn;
    ring_buffer__consume(ring_.get());
}

uint64_t NetScope::dropped() const {
    uint32_t zero = 0;
    sbx_config cfg{};
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.config), &zero, &cfg) != 0) return 0;
    return cfg.dropped;
}

std::string format_destination(const sbx_event& e) {
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
