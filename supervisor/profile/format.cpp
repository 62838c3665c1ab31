// The resolved profile as TOML: what `sandboxctl profile check` prints, so a
// security reviewer sees the scopes after `extends` and variables.
#include <sstream>

#include "profile/loader.h"

namespace sandboxd {
namespace {

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            continue;
        }
        out += c;
    }
    return out + "\"";
}

void paths(std::ostringstream& o, const char* key, const std::vector<PathRule>& rules) {
    o << key << " = [";
    for (size_t i = 0; i < rules.size(); ++i) {
        o << (i ? ", " : "") << quote(rules[i].path);
    }
    o << "]";
    std::string missing;
    for (const auto& r : rules)
        if (!r.exists) missing += (missing.empty() ? "" : ", ") + r.path;
    if (!missing.empty()) o << "  # optional, missing here: " << missing;
    o << "\n";
}

void names(std::ostringstream& o, const char* key, const std::vector<std::string>& v) {
    o << key << " = [";
    for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << quote(v[i]);
    o << "]\n";
}

}  // namespace

std::string format_profile(const Profile& p) {
    std::ostringstream o;
    o << "# resolved from " << p.chain.front();
    for (size_t i = 1; i < p.chain.size(); ++i) o << " <- " << p.chain[i];
    o << "\nversion = 1\nname = " << quote(p.name) << "\n";
    if (!p.description.empty()) o << "description = " << quote(p.description) << "\n";
    o << "tier = " << p.tier << "\n\n[filesystem]\n";
    paths(o, "read", p.read);
    paths(o, "write", p.write);
    paths(o, "destroy", p.destroy);
    paths(o, "protect", p.protect);
    paths(o, "hide", p.hide);
    o << "\n[exec]\n";
    paths(o, "allow", p.exec_allow);
    o << "\n[network]\nconnect = [";
    for (size_t i = 0; i < p.connect.size(); ++i) o << (i ? ", " : "") << quote(p.connect[i].text);
    o << "]" << (p.connect.empty() ? "  # no network" : "") << "\n\n[syscalls]\n";
    names(o, "deny", p.syscalls.deny);
    names(o, "allow", p.syscalls.allow);
    o << "\n[events]\nfiles = " << (p.events.files ? "true" : "false") << "\n";
    if (p.events.reads) o << "reads = true\n";
    o << "journal_limit = " << p.events.journal_limit_bytes << "\n";
    if (!p.accept_missing.empty()) {
        o << "\n[kernel]\naccept_missing = [";
        for (size_t i = 0; i < p.accept_missing.size(); ++i) o << (i ? ", " : "") << '"' << p.accept_missing[i] << '"';
        o << "]\n";
    }
    o << "\n[snapshots]\nbudget = " << p.snapshots.budget_bytes << "\nretention = " << p.snapshots.retention_sec << "\n";
    o << "\n[limits]\n";
    if (p.limits.memory_bytes) o << "memory = " << *p.limits.memory_bytes << "\n";
    if (p.limits.pids) o << "pids = " << *p.limits.pids << "\n";
    if (p.limits.cpu_millicores) o << "cpu = \"" << *p.limits.cpu_millicores / 10 << "%\"\n";
    o << "\n[approval]\ntimeout = " << p.approval.timeout_sec << "\non_timeout = "
      << quote(timeout_action_name(p.approval.on_timeout)) << "\n";
    return o.str();
}

}  // namespace sandboxd
