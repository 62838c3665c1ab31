#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "profile/loader.h"

using sandboxd::NetRule;
using sandboxd::parse_net_rule;

TEST_CASE("network entries: addresses / blocks / ports / hosts") {
    auto a = parse_net_rule("10.0.0.0/8:443");
    REQUIRE(a.ok());
    CHECK(a->kind == NetRule::Kind::Ipv4);
    CHECK(a->prefix_len == 8);
    CHECK(a->addr[0] == 10);
    CHECK(a->port_min == 443);
    CHECK(a->port_max == 443);

    auto b = parse_net_rule("127.0.0.1:8000-8999");
    REQUIRE(b.ok());
    CHECK(b->prefix_len == 32);
    CHECK(b->port_min == 8000);
    CHECK(b->port_max == 8999);

    auto c = parse_net_rule("[2001:db8::/32]:*");
    REQUIRE(c.ok());
    CHECK(c->kind == NetRule::Kind::Ipv6);
    CHECK(c->prefix_len == 32);
    CHECK(c->port_min == 0);
    CHECK(c->port_max == 65535);

    auto d = parse_net_rule("[::1]:53");
    REQUIRE(d.ok());
    CHECK(d->prefix_len == 128);

    auto e = parse_net_rule("registry.npmjs.org:443");
    REQUIRE(e.ok());
    CHECK(e->kind == NetRule::Kind::Host);
    CHECK(e->host == "registry.npmjs.org");
}

TEST_CASE("network entries: every malformed shape is refused with a reason") {
    struct Bad {
        const char* text;
        const char* reason;
    } cases[] = {
        {"10.0.0.1", "has no port"},
        {"10.0.0.1:0", "bad port"},
        {"10.0.0.1:65536", "bad port"},
        {"10.0.0.1:90-80", "bad port"},
        {"10.0.0.1:http", "bad port"},
        {"::1:53", "brackets"},
        {"[::1:53", "missing ']:PORT'"},
        {"[10.0.0.1]:53", "IPv6 addresses only"},
        {"10.0.0.1/8:443", "bits set beyond the /8"},
        {"10.0.0.0/33:443", "at most /32"},
        {"10.0.0.0/x:443", "bad prefix"},
        {"1.2.3:80", "neither an IP address nor a host name"},
        {"-bad-.example:80", "neither"},
        {"exa mple.com:80", "neither"},
        {"example.com/24:80", "cannot have a prefix"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto r = parse_net_rule(c.text);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains(c.reason));
    }
}
