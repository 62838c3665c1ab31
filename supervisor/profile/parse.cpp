// TOML -> ProfileSpec: the only place that reads profile syntax. Every
// accepted key is listed in a table below; anything else is an error.
#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <algorithm>
#include <functional>
#include <toml++/toml.h>

#include "base/kernel_gap.h"
#include "profile/loader.h"
#include "profile/syscall_sets.h"

namespace sandboxd {
namespace {

SourcePos pos_of(const toml::source_region& r, const std::string& file) {
    return SourcePos{file, r.begin.line, r.begin.column};
}

Error spec_error(const SourcePos& pos, std::string_view key, std::string_view problem,
                 std::string_view expected) {
    std::string msg = pos.describe() + ": " + std::string(key) + ": " + std::string(problem);
    if (!expected.empty()) msg += "; expected " + std::string(expected);
    return plain_error(std::move(msg));
}

std::string_view type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a number";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::array: return "a list";
        case toml::node_type::table: return "a table";
        default: return "a date/time";
    }
}

// Walks one table, dispatching each key to its handler and refusing the rest.
class TableReader {
public:
    TableReader(const toml::table& t, std::string prefix, const std::string& file)
        : table_(t), prefix_(std::move(prefix)), file_(file) {}

    using Handler = std::function<Status(const toml::node&, const std::string& key,
                                         const SourcePos& pos)>;

    void on(std::string_view key, Handler h) { handlers_.emplace_back(std::string(key), std::move(h)); }

    Status run() const {
        for (auto&& [k, v] : table_) {
            std::string key = prefix_ + std::string(k.str());
            const Handler* h = nullptr;
            for (auto& [name, handler] : handlers_)
                if (name == k.str()) h = &handler;
            SourcePos pos = pos_of(k.source(), file_);
            if (!h) return spec_error(pos, key, "unknown key", "one of: " + known());
            SANDBOXD_TRY((*h)(v, key, pos_of(v.source(), file_)));
        }
        return {};
    }

private:
    std::string known() const {
        std::string s;
        for (auto& [name, _] : handlers_) s += (s.empty() ? "" : ", ") + name;
        return s;
    }

    const toml::table& table_;
    std::string prefix_;
    const std::string& file_;
    std::vector<std::pair<std::string, Handler>> handlers_;
};

Result<std::string> get_string(const toml::node& n, const std::string& key, const SourcePos& pos,
                               std::string_view expected) {
    if (!n.is_string()) return spec_error(pos, key, std::string(type_name(n)), expected);
    return std::string(n.as_string()->get());
}

Result<std::vector<Located<std::string>>> get_string_list(const toml::node& n,
                                                          const std::string& key,
                                                          const SourcePos& pos,
                                                          const std::string& file,
                                                          std::string_view expected) {
    if (!n.is_array()) return spec_error(pos, key, std::string(type_name(n)), expected);
    std::vector<Located<std::string>> out;
    for (const toml::node& e : *n.as_array()) {
        SourcePos epos = pos_of(e.source(), file);
        if (!e.is_string())
            return spec_error(epos, key, "list holds " + std::string(type_name(e)), expected);
        std::string s(e.as_string()->get());
        if (s.empty()) return spec_error(epos, key, "empty string", expected);
        if (s.find('\0') != std::string::npos)
            return spec_error(epos, key, "string holds a NUL byte", expected);
        out.push_back({std::move(s), epos});
    }
    return out;
}

bool parse_u64(std::string_view s, uint64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// "512M", "2G", "1048576": bytes, binary suffixes.
// `min_bytes`: a memory limit below 1M cannot run anything; a snapshot
// budget of 0 is legitimate (every destructive operation refused).
Result<uint64_t> parse_size(const toml::node& n, const std::string& key, const SourcePos& pos,
                            uint64_t min_bytes = 1ull << 20) {
    constexpr std::string_view expected =
        "a byte count like 1073741824 or a string like \"512M\" or \"2G\" (suffixes K, M, G, T)";
    uint64_t bytes = 0;
    if (n.is_integer()) {
        int64_t v = n.as_integer()->get();
        if (v <= 0) return spec_error(pos, key, "must be positive", expected);
        bytes = uint64_t(v);
    } else if (n.is_string()) {
        std::string s(n.as_string()->get());
        if (s.ends_with("iB") || s.ends_with("ib")) s.resize(s.size() - 2);
        else if (s.size() > 1 && (s.back() == 'B' || s.back() == 'b') && !std::isdigit(s[s.size() - 2]))
            s.pop_back();
        uint64_t mult = 1;
        if (!s.empty()) {
            switch (std::toupper(static_cast<unsigned char>(s.back()))) {
                case 'K': mult = 1ull << 10; break;
                case 'M': mult = 1ull << 20; break;
                case 'G': mult = 1ull << 30; break;
                case 'T': mult = 1ull << 40; break;
                default: break;
            }
            if (mult != 1) s.pop_back();
        }
        uint64_t v = 0;
        if (!parse_u64(s, v) || v == 0)
            return spec_error(pos, key, "'" + std::string(n.as_string()->get()) + "' is not a size", expected);
        if (v > UINT64_MAX / mult) return spec_error(pos, key, "size overflows", expected);
        bytes = v * mult;
    } else {
        return spec_error(pos, key, std::string(type_name(n)), expected);
    }
    if (bytes < min_bytes)
        return spec_error(pos, key, std::to_string(bytes) + " bytes is too small to run anything",
                          "at least 1M");
    return bytes;
}

// "30s", "5m", "2h", "7d", or an integer number of seconds, up to `max_days`.
Result<uint32_t> parse_duration(const toml::node& n, const std::string& key, const SourcePos& pos,
                                uint32_t max_days = 1) {
    const std::string expected = "seconds as an integer or a string like \"30s\", \"5m\", \"1h\", \"2d\" (1s to " +
                                 std::to_string(max_days * 24) + "h)";
    uint64_t secs = 0;
    if (n.is_integer()) {
        int64_t v = n.as_integer()->get();
        if (v <= 0) return spec_error(pos, key, "must be positive", expected);
        secs = uint64_t(v);
    } else if (n.is_string()) {
        std::string s(n.as_string()->get());
        uint64_t mult = 1;
        if (!s.empty() && !std::isdigit(static_cast<unsigned char>(s.back()))) {
            switch (s.back()) {
                case 's': mult = 1; break;
                case 'm': mult = 60; break;
                case 'h': mult = 3600; break;
                case 'd': mult = 86400; break;
                default:
                    return spec_error(pos, key, "'" + s + "' has an unknown unit", expected);
            }
            s.pop_back();
        }
        uint64_t v = 0;
        if (!parse_u64(s, v) || v == 0 || v > uint64_t(max_days) * 86400)
            return spec_error(pos, key, "'" + std::string(n.as_string()->get()) + "' is not a duration", expected);
        secs = v * mult;
    } else {
        return spec_error(pos, key, std::string(type_name(n)), expected);
    }
    if (secs > uint64_t(max_days) * 86400)
        return spec_error(pos, key, "longer than " + std::to_string(max_days * 24) + "h", expected);
    return uint32_t(secs);
}

// 1.5 (CPUs) or "150%".
Result<uint32_t> parse_cpu(const toml::node& n, const std::string& key, const SourcePos& pos) {
    constexpr std::string_view expected =
        "a number of CPUs like 1.5, or a percentage of one CPU like \"150%\" (1% to 102400%)";
    double cpus = 0;
    if (n.is_integer()) {
        cpus = double(n.as_integer()->get());
    } else if (n.is_floating_point()) {
        cpus = n.as_floating_point()->get();
    } else if (n.is_string()) {
        std::string s(n.as_string()->get());
        uint64_t pct = 0;
        if (!s.ends_with('%') || !parse_u64(std::string_view(s).substr(0, s.size() - 1), pct))
            return spec_error(pos, key, "'" + s + "' is not a CPU amount", expected);
        cpus = double(pct) / 100.0;
    } else {
        return spec_error(pos, key, std::string(type_name(n)), expected);
    }
    if (!std::isfinite(cpus) || cpus < 0.01 || cpus > 1024)
        return spec_error(pos, key, "out of range", expected);
    return uint32_t(std::lround(cpus * 1000));
}

bool valid_hostname(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    bool has_alpha = false;
    size_t start = 0;
    while (start <= h.size()) {
        size_t dot = h.find('.', start);
        if (dot == std::string_view::npos) dot = h.size();
        std::string_view label = h.substr(start, dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label) {
            if (std::isalpha(static_cast<unsigned char>(c))) has_alpha = true;
            else if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-') return false;
        }
        start = dot + 1;
        if (dot == h.size()) break;
    }
    return has_alpha;  // "1.2.3" is a malformed address, not a host name
}

bool parse_port(std::string_view s, uint16_t& lo, uint16_t& hi) {
    if (s == "*") {
        lo = 0;
        hi = 65535;
        return true;
    }
    auto one = [](std::string_view t, uint16_t& out) {
        uint64_t v = 0;
        if (!parse_u64(t, v) || v == 0 || v > 65535) return false;
        out = uint16_t(v);
        return true;
    };
    size_t dash = s.find('-');
    if (dash == std::string_view::npos) {
        if (!one(s, lo)) return false;
        hi = lo;
        return true;
    }
    return one(s.substr(0, dash), lo) && one(s.substr(dash + 1), hi) && lo <= hi;
}

// A gate in front of toml++. toml++ 3.3 (Debian 12) reaches
// __builtin_unreachable() -- undefined behaviour -- on some non-ASCII
// characters, in places that depend on how it tokenises (libFuzzer found
// two: between tokens, and inside a malformed value). Only ASCII input stays
// clear of every such table lookup, so profiles are ASCII: printable
// characters, tab and newlines, an optional UTF-8 byte order mark. Other
// characters are written as \uXXXX escapes in double-quoted strings, which
// TOML provides for exactly this.
Status check_text(std::string_view text, const std::string& source) {
    uint32_t line = 1, col = 1;
    size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    for (; i < text.size(); ++i, ++col) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            ++line;
            col = 0;
            continue;
        }
        std::string what;
        if (c >= 0x80) what = "non-ASCII byte 0x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
        else if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7F) what = "control character " + std::to_string(c);
        else continue;
        return plain_error(SourcePos{source, line, col}.describe() + ": " + what +
                           "; expected ASCII text (write other characters as \\uXXXX in a double-quoted string)");
    }
    return {};
}

}  // namespace

std::string SourcePos::describe() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const char* timeout_action_name(TimeoutAction a) {
    switch (a) {
        case TimeoutAction::Deny: return "deny";
        case TimeoutAction::Freeze: return "freeze";
        case TimeoutAction::Kill: return "kill";
    }
    return "deny";
}

Result<NetRule> parse_net_rule(std::string_view text) {
    NetRule r;
    r.text = std::string(text);
    std::string_view addr, port;
    if (text.starts_with('[')) {
        size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return plain_error("'" + r.text + "' is missing ']:PORT' after the IPv6 address");
        addr = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (addr.find(':') == std::string_view::npos)
            return plain_error("'" + r.text + "': brackets are for IPv6 addresses only");
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return plain_error("'" + r.text + "' has no port");
        addr = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (addr.find(':') != std::string_view::npos)
            return plain_error("'" + r.text + "': write IPv6 addresses in brackets, like [::1]:53");
    }
    if (!parse_port(port, r.port_min, r.port_max))
        return plain_error("'" + r.text + "' has a bad port '" + std::string(port) +
                           "' (1-65535, a range like 8000-8099, or *)");

    std::string a(addr);
    std::optional<int> prefix;
    if (size_t slash = a.find('/'); slash != std::string::npos) {
        uint64_t p = 0;
        if (!parse_u64(std::string_view(a).substr(slash + 1), p) || p > 128)
            return plain_error("'" + r.text + "' has a bad prefix length");
        prefix = int(p);
        a.resize(slash);
    }
    if (inet_pton(AF_INET, a.c_str(), r.addr) == 1) {
        r.kind = NetRule::Kind::Ipv4;
        if (prefix && *prefix > 32) return plain_error("'" + r.text + "': an IPv4 prefix is at most /32");
        r.prefix_len = uint8_t(prefix.value_or(32));
    } else if (inet_pton(AF_INET6, a.c_str(), r.addr) == 1) {
        r.kind = NetRule::Kind::Ipv6;
        r.prefix_len = uint8_t(prefix.value_or(128));
    } else if (valid_hostname(a)) {
        if (prefix) return plain_error("'" + r.text + "': a host name cannot have a prefix length");
        r.kind = NetRule::Kind::Host;
        r.host = a;
        return r;
    } else {
        return plain_error("'" + r.text + "' is neither an IP address nor a host name");
    }
    // Host bits beyond the prefix are almost always a typo for a wider or
    // narrower block than intended; refuse rather than guess which.
    int bytes = r.kind == NetRule::Kind::Ipv4 ? 4 : 16;
    for (int bit = r.prefix_len; bit < bytes * 8; ++bit) {
        if (r.addr[bit / 8] & (0x80 >> (bit % 8)))
            return plain_error("'" + r.text + "' has address bits set beyond the /" +
                               std::to_string(r.prefix_len) + " prefix");
    }
    return r;
}

Result<ProfileSpec> parse_profile(std::string_view text, const std::string& source) {
    SANDBOXD_TRY(check_text(text, source));
    toml::table doc;
    try {
        doc = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        SourcePos pos{source, e.source().begin.line, e.source().begin.column};
        return plain_error(pos.describe() + ": invalid TOML: " + std::string(e.description()));
    }

    ProfileSpec spec;
    spec.source = source;
    const std::string& file = spec.source;

    auto paths_into = [&](std::optional<ProfileSpec::Paths>& target) {
        return [&file, slot = &target](const toml::node& n, const std::string& key,
                                       const SourcePos& pos) -> Status {
            auto list = get_string_list(n, key, pos, file,
                                        "a list of absolute paths, e.g. [\"/usr\", \"${WORKSPACE}\"]");
            if (!list) return list.error();
            *slot = std::move(*list);
            return {};
        };
    };
    auto syscalls_into = [&](std::optional<std::vector<Located<std::string>>>& target) {
        return [&file, slot = &target](const toml::node& n, const std::string& key,
                                       const SourcePos& pos) -> Status {
            constexpr std::string_view expected =
                "a list of syscall names and @groups, e.g. [\"@mount\", \"ptrace\"]";
            auto list = get_string_list(n, key, pos, file, expected);
            if (!list) return list.error();
            for (auto& e : *list) {
                std::set<std::string> ignored;
                auto st = expand_syscall_entry(e.value, ignored);
                if (!st) {
                    std::string groups;
                    for (auto& g : syscall_groups()) groups += (groups.empty() ? "" : ", ") + std::string(g.name);
                    return spec_error(e.pos, key, st.error().message,
                                      "a syscall name of this architecture or one of " + groups);
                }
            }
            *slot = std::move(*list);
            return {};
        };
    };
    auto require_table = [&](const toml::node& n, const std::string& key, const SourcePos& pos,
                             const std::function<void(TableReader&)>& setup) -> Status {
        if (!n.is_table()) return spec_error(pos, key, std::string(type_name(n)), "a table");
        TableReader r(*n.as_table(), key + ".", file);
        setup(r);
        return r.run();
    };

    TableReader top(doc, "", file);
    top.on("version", [&](const toml::node& n, const std::string& key, const SourcePos& pos) -> Status {
        if (!n.is_integer() || n.as_integer()->get() != 1)
            return spec_error(pos, key, "unsupported profile version", "1");
        return {};
    });
    top.on("name", [&](const toml::node& n, const std::string& key, const SourcePos& pos) -> Status {
        constexpr std::string_view expected =
            "a name of lowercase letters, digits, '-', '_' and '.', starting with a letter or digit (at most 64)";
        auto s = get_string(n, key, pos, expected);
        if (!s) return s.error();
        bool ok = !s->empty() && s->size() <= 64 && std::isalnum(static_cast<unsigned char>((*s)[0]));
        for (char c : *s)
            ok = ok && (std::islower(static_cast<unsigned char>(c)) ||
                        std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
        if (!ok) return spec_error(pos, key, "'" + *s + "' is not a valid name", expected);
        spec.name = Located<std::string>{*s, pos};
        return {};
    });
    top.on("description", [&](const toml::node& n, const std::string& key, const SourcePos& pos) -> Status {
        auto s = get_string(n, key, pos, "a string");
        if (!s) return s.error();
        spec.description = Located<std::string>{*s, pos};
        return {};
    });
    top.on("extends", [&](const toml::node& n, const std::string& key, const SourcePos& pos) -> Status {
        auto s = get_string(n, key, pos, "the name or path of another profile");
        if (!s) return s.error();
        if (s->empty()) return spec_error(pos, key, "empty", "the name or path of another profile");
        spec.extends = Located<std::string>{*s, pos};
        return {};
    });
    top.on("tier", [&](const toml::node& n, const std::string& key, const SourcePos& pos) -> Status {
        constexpr std::string_view expected =
            "1 (agent drafts, human acts), 2 (agent acts, human reviews) or 3 (autonomous with rollback)";
        if (!n.is_integer()) return spec_error(pos, key, std::string(type_name(n)), expected);
        int64_t t = n.as_integer()->get();
        if (t < 1 || t > 3) return spec_error(pos, key, std::to_string(t) + " is not a tier", expected);
        spec.tier = Located<int>{int(t), pos};
        return {};
    });
    top.on("filesystem", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) {
            r.on("read", paths_into(spec.read));
            r.on("write", paths_into(spec.write));
            r.on("destroy", paths_into(spec.destroy));
            r.on("protect", paths_into(spec.protect));
            r.on("hide", paths_into(spec.hide));
        });
    });
    top.on("exec", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) { r.on("allow", paths_into(spec.exec_allow)); });
    });
    top.on("network", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) {
            r.on("connect", [&](const toml::node& c, const std::string& k, const SourcePos& p) -> Status {
                constexpr std::string_view expected =
                    "a list of \"ADDRESS[/PREFIX]:PORT\", \"[IPV6[/PREFIX]]:PORT\" or \"HOST:PORT\" entries";
                auto list = get_string_list(c, k, p, file, expected);
                if (!list) return list.error();
                std::vector<NetRule> rules;
                for (auto& e : *list) {
                    auto rule = parse_net_rule(e.value);
                    if (!rule) return spec_error(e.pos, k, rule.error().message, expected);
                    rule->pos = e.pos;
                    rules.push_back(std::move(*rule));
                }
                spec.connect = std::move(rules);
                return {};
            });
        });
    });
    top.on("syscalls", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) {
            r.on("deny", syscalls_into(spec.syscall_deny));
            r.on("allow", syscalls_into(spec.syscall_allow));
        });
    });
    top.on("events", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) {
            r.on("files", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                if (!v.is_boolean()) return spec_error(p, k, std::string(type_name(v)), "true or false");
                spec.events_files = v.as_boolean()->get();
                return {};
            });
            r.on("reads", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                if (!v.is_boolean()) return spec_error(p, k, std::string(type_name(v)), "true or false");
                spec.events_reads = Located<bool>{v.as_boolean()->get(), p};
                return {};
            });
            r.on("journal_limit", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                auto b = parse_size(v, k, p, 1 << 20);
                if (!b) return b.error();
                spec.journal_limit = *b;
                return {};
            });
        });
    });
    top.on("kernel", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) {
            r.on("accept_missing", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                std::string expected = "a list of kernel layers this profile may run without:";
                for (const auto& id : kernel_gap_ids()) expected += " \"" + id + "\"";
                auto list = get_string_list(v, k, p, file, expected);
                if (!list) return list.error();
                for (const auto& e : *list)
                    if (std::find(kernel_gap_ids().begin(), kernel_gap_ids().end(), e.value) == kernel_gap_ids().end())
                        return spec_error(e.pos, k, "unknown layer '" + e.value + "'", expected);
                spec.accept_missing = std::move(*list);
                return {};
            });
        });
    });
    top.on("snapshots", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) {
            r.on("budget", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                auto b = parse_size(v, k, p, 0);
                if (!b) return b.error();
                spec.snapshot_budget = *b;
                return {};
            });
            r.on("retention", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                auto d = parse_duration(v, k, p, 3650);
                if (!d) return d.error();
                spec.snapshot_retention_sec = *d;
                return {};
            });
        });
    });
    top.on("limits", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) {
            r.on("memory", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                auto b = parse_size(v, k, p);
                if (!b) return b.error();
                spec.memory_bytes = *b;
                return {};
            });
            r.on("pids", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                constexpr std::string_view expected = "an integer from 1 to 4194304";
                if (!v.is_integer()) return spec_error(p, k, std::string(type_name(v)), expected);
                int64_t x = v.as_integer()->get();
                if (x < 1 || x > 4194304) return spec_error(p, k, std::to_string(x) + " is out of range", expected);
                spec.pids = uint64_t(x);
                return {};
            });
            r.on("cpu", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                auto c = parse_cpu(v, k, p);
                if (!c) return c.error();
                spec.cpu_millicores = *c;
                return {};
            });
        });
    });
    top.on("approval", [&](const toml::node& n, const std::string& key, const SourcePos& pos) {
        return require_table(n, key, pos, [&](TableReader& r) {
            r.on("timeout", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                auto d = parse_duration(v, k, p);
                if (!d) return d.error();
                spec.approval_timeout_sec = *d;
                return {};
            });
            r.on("on_timeout", [&](const toml::node& v, const std::string& k, const SourcePos& p) -> Status {
                // No "allow": an approval that grants itself when nobody
                // answers is no approval at all.
                constexpr std::string_view expected = "\"deny\", \"freeze\" or \"kill\"";
                auto s = get_string(v, k, p, expected);
                if (!s) return s.error();
                if (*s == "deny") spec.on_timeout = TimeoutAction::Deny;
                else if (*s == "freeze") spec.on_timeout = TimeoutAction::Freeze;
                else if (*s == "kill") spec.on_timeout = TimeoutAction::Kill;
                else return spec_error(p, k, "'" + *s + "' is not a timeout action", expected);
                return {};
            });
        });
    });
    SANDBOXD_TRY(top.run());
    return spec;
}

}  // namespace sandboxd
