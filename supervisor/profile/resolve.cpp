// Finding profiles, following `extends`, expanding variables.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/file_io.h"
#include "base/path_trust.h"
#include "base/paths.h"
#include "profile/builtin_profiles.h"
#include "profile/loader.h"
#include "profile/syscall_sets.h"

#ifndef SANDBOXD_PROFILE_DIR
#define SANDBOXD_PROFILE_DIR "/usr/local/share/sandboxd/profiles"
#endif
#ifndef SANDBOXD_CONFIG_PROFILE_DIR
#define SANDBOXD_CONFIG_PROFILE_DIR "/etc/sandboxd/profiles"
#endif

namespace sandboxd {
namespace {

constexpr int kMaxExtendsDepth = 8;
constexpr size_t kMaxProfileBytes = 1 << 20;

bool looks_like_path(const std::string& ref) {
    return ref.find('/') != std::string::npos || ref.ends_with(".toml");
}

bool valid_profile_name(const std::string& ref) {
    if (ref.empty() || ref.size() > 64 || ref[0] == '.') return false;
    for (char c : ref)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
            return false;
    return true;
}

Error at(const SourcePos& pos, std::string_view key, std::string_view problem,
         std::string_view expected = {}) {
    std::string msg = pos.describe() + ": " + std::string(key) + ": " + std::string(problem);
    if (!expected.empty()) msg += "; expected " + std::string(expected);
    return plain_error(std::move(msg));
}

// Takes every key the child set, keeps the parent's for the rest.
void overlay(ProfileSpec& base, ProfileSpec&& child) {
    auto take = [](auto& dst, auto& src) {
        if (src) dst = std::move(src);
    };
    take(base.name, child.name);
    take(base.description, child.description);
    take(base.tier, child.tier);
    take(base.read, child.read);
    take(base.write, child.write);
    take(base.destroy, child.destroy);
    take(base.protect, child.protect);
    take(base.hide, child.hide);
    take(base.exec_allow, child.exec_allow);
    take(base.connect, child.connect);
    take(base.syscall_deny, child.syscall_deny);
    take(base.syscall_allow, child.syscall_allow);
    take(base.events_files, child.events_files);
    take(base.events_reads, child.events_reads);
    take(base.journal_limit, child.journal_limit);
    take(base.accept_missing, child.accept_missing);
    take(base.snapshot_budget, child.snapshot_budget);
    take(base.snapshot_retention_sec, child.snapshot_retention_sec);
    take(base.memory_bytes, child.memory_bytes);
    take(base.pids, child.pids);
    take(base.cpu_millicores, child.cpu_millicores);
    take(base.approval_timeout_sec, child.approval_timeout_sec);
    take(base.on_timeout, child.on_timeout);
    base.source = std::move(child.source);
}

constexpr std::string_view kPathExpected =
    "an absolute path, or one starting with ${WORKSPACE} or ${HOME}; prefix with '-' to skip it when missing";

// `agent_links`: for scopes that grant (read, write, destroy, exec), the
// links an earlier session's agent could have planted on the way; null for
// those that take away (protect, hide), which may follow any.
Result<PathRule> expand_path(const Located<std::string>& raw, std::string_view key, const ProfileVars& vars,
                             const AgentLinks* agent_links) {
    PathRule rule;
    rule.pos = raw.pos;
    std::string_view in = raw.value;
    if (in.starts_with('-')) {
        rule.optional = true;
        in.remove_prefix(1);
    }
    std::string out;
    for (size_t i = 0; i < in.size();) {
        if (in[i] != '$') {
            out += in[i++];
            continue;
        }
        size_t close = in.find('}', i);
        if (i + 1 >= in.size() || in[i + 1] != '{' || close == std::string_view::npos)
            return at(raw.pos, key, "'" + raw.value + "' has a '$' that is not a ${VARIABLE}", kPathExpected);
        std::string_view var = in.substr(i + 2, close - i - 2);
        const std::string* value = nullptr;
        if (var == "WORKSPACE") value = &vars.workspace;
        else if (var == "HOME") value = &vars.home;
        else
            return at(raw.pos, key, "unknown variable ${" + std::string(var) + "}",
                      "${WORKSPACE} or ${HOME}");
        if (value->empty() || (*value)[0] != '/')
            return at(raw.pos, key, "${" + std::string(var) + "} is not set to an absolute path");
        out += *value;
        i = close + 1;
    }
    if (out.empty() || out[0] != '/')
        return at(raw.pos, key, "'" + raw.value + "' is not absolute", kPathExpected);
    rule.path = normalize_path(out);
    struct stat st{};
    if (::stat(rule.path.c_str(), &st) != 0) {
        if (!rule.optional)
            return at(raw.pos, key, "path " + rule.path + " does not exist", kPathExpected);
        rule.exists = false;
    }
    // A scope that grants is held by where it leads, judged on the way
    // entry by entry: every later open of it (its Landlock rule, its
    // mount) follows no symbolic link, so one put there since, which this
    // walk did not judge, is refused rather than followed.
    auto real = trusted_real_path(rule.path, trusted_owners(vars.agent_uid, vars.agent_gid), agent_links);
    if (!real)
        return at(raw.pos, key, "path " + rule.path + " cannot be trusted: " + real.error().message,
                  "a path whose entries in /tmp and other shared sticky directories belong to root, you or the "
                  "agent's user, and with no symbolic link of the agent's user on the way");
    if (agent_links && rule.exists) rule.path = std::move(*real);
    return rule;
}

Result<std::vector<PathRule>> expand_paths(const std::optional<ProfileSpec::Paths>& raw, std::string_view key,
                                           const ProfileVars& vars, const AgentLinks* agent_links) {
    std::vector<PathRule> out;
    if (!raw) return out;
    for (const auto& r : *raw) {
        auto rule = expand_path(r, key, vars, agent_links);
        if (!rule) return rule.error();
        bool dup = false;
        for (auto& o : out) dup = dup || o.path == rule->path;
        if (!dup) out.push_back(std::move(*rule));
    }
    return out;
}

bool under_any(const std::string& path, const std::vector<PathRule>& trees) {
    for (const auto& t : trees)
        if (path_is_under(path, t.path)) return true;
    return false;
}

std::vector<std::string> values(const std::optional<std::vector<Located<std::string>>>& v) {
    std::vector<std::string> out;
    if (v)
        for (auto& e : *v) out.push_back(e.value);
    return out;
}

}  // namespace

ProfileLoader::ProfileLoader(std::vector<std::string> search_dirs) : dirs_(std::move(search_dirs)) {}

ProfileLoader ProfileLoader::with_default_path() {
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("SANDBOXD_PROFILE_PATH")) {
        std::string_view s(env);
        while (!s.empty()) {
            size_t c = s.find(':');
            std::string_view d = s.substr(0, c);
            if (!d.empty()) dirs.emplace_back(d);
            if (c == std::string_view::npos) break;
            s.remove_prefix(c + 1);
        }
    }
    dirs.emplace_back(SANDBOXD_CONFIG_PROFILE_DIR);
    dirs.emplace_back(SANDBOXD_PROFILE_DIR);
    return ProfileLoader(std::move(dirs));
}

Result<ProfileLoader::Found> ProfileLoader::find(const std::string& ref,
                                                 const std::string& relative_to) const {
    auto read_capped = [](const std::string& path) -> Result<std::string> {
        auto text = read_file(path);
        if (!text) return text.error();
        if (text->size() > kMaxProfileBytes)
            return plain_error(path + ": profile larger than 1 MiB");
        return text;
    };
    if (looks_like_path(ref)) {
        std::string path = ref;
        if (path[0] != '/' && !relative_to.empty()) {
            size_t slash = relative_to.rfind('/');
            if (slash != std::string::npos) path = relative_to.substr(0, slash + 1) + path;
        }
        auto text = read_capped(path);
        if (!text) return Error{text.error().code, "cannot read profile " + path};
        return Found{std::move(*text), path};
    }
    if (!valid_profile_name(ref))
        return plain_error("'" + ref + "' is not a profile name (letters, digits, '-', '_', '.') or a path");
    for (const auto& dir : dirs_) {
        std::string path = dir + "/" + ref + ".toml";
        if (::access(path.c_str(), F_OK) != 0) continue;
        auto text = read_capped(path);
        if (!text) return Error{text.error().code, "cannot read profile " + path};
        return Found{std::move(*text), path};
    }
    for (const auto& b : builtin_profiles())
        if (b.name == ref) return Found{std::string(b.text), "builtin:" + ref};
    std::string where;
    for (const auto& d : dirs_) where += d + ", ";
    return plain_error("no profile named '" + ref + "' (looked in " + where +
                       "and the built-in profiles; give a name or a path to a .toml file)");
}

Result<Profile> ProfileLoader::load(const std::string& ref, const ProfileVars& vars) const {
    // Read the chain child-first, then overlay it parent-first.
    std::vector<ProfileSpec> chain;
    std::vector<std::string> seen;
    std::string next = ref, from;
    std::optional<SourcePos> extends_pos;
    while (true) {
        auto found = find(next, from);
        if (!found) {
            if (extends_pos) return at(*extends_pos, "extends", found.error().describe());
            return found.error();
        }
        for (const auto& s : seen)
            if (s == found->source)
                return at(*extends_pos, "extends", "'" + next + "' makes a cycle",
                          "a chain of profiles that ends");
        if (chain.size() >= kMaxExtendsDepth)
            return at(*extends_pos, "extends", "chain is deeper than 8 profiles");
        auto spec = parse_profile(found->text, found->source);
        if (!spec) return spec.error();
        seen.push_back(found->source);
        from = found->source.starts_with("builtin:") ? std::string() : found->source;
        chain.push_back(std::move(*spec));
        if (!chain.back().extends) break;
        next = chain.back().extends->value;
        extends_pos = chain.back().extends->pos;
    }

    Profile p;
    for (auto& s : chain) p.chain.push_back(s.source);
    ProfileSpec merged = std::move(chain.back());
    for (size_t i = chain.size() - 1; i-- > 0;) overlay(merged, std::move(chain[i]));

    const std::string& top_file = p.chain.front();
    if (!merged.name)
        return plain_error(top_file + ":1:1: name: missing; expected name = \"...\" in the profile or one it extends");
    p.name = merged.name->value;
    p.source = top_file;
    if (merged.description) p.description = merged.description->value;
    if (merged.tier) p.tier = merged.tier->value;

    auto fill = [&](std::vector<PathRule>& dst, const std::optional<ProfileSpec::Paths>& src, std::string_view key,
                    const AgentLinks* agent_links) -> Status {
        auto r = expand_paths(src, key, vars, agent_links);
        if (!r) return r.error();
        dst = std::move(*r);
        return {};
    };
    // What takes away follows any link (protect, hide); what grants,
    // none an agent could have made or moved (path_trust.h).
    SANDBOXD_TRY(fill(p.protect, merged.protect, "filesystem.protect", nullptr));
    SANDBOXD_TRY(fill(p.hide, merged.hide, "filesystem.hide", nullptr));
    const AgentLinks agent_links{vars.agent_uid, vars.agent_gid, vars.agent_groups};
    SANDBOXD_TRY(fill(p.read, merged.read, "filesystem.read", &agent_links));
    SANDBOXD_TRY(fill(p.write, merged.write, "filesystem.write", &agent_links));
    SANDBOXD_TRY(fill(p.destroy, merged.destroy, "filesystem.destroy", &agent_links));
    SANDBOXD_TRY(fill(p.exec_allow, merged.exec_allow, "exec.allow", &agent_links));

    // Destroying is a stronger right than writing; a destroy tree outside
    // every write tree is a contradiction, not a scope.
    for (const auto& d : p.destroy)
        if (!under_any(d.path, p.write))
            return at(d.pos, "filesystem.destroy", d.path + " is not inside any write tree",
                      "destroy trees inside filesystem.write trees");

    if (merged.connect) p.connect = std::move(*merged.connect);
    p.syscalls.deny = values(merged.syscall_deny);
    p.syscalls.allow = values(merged.syscall_allow);
    if (merged.syscall_allow && merged.syscall_deny) {
        for (const auto& a : *merged.syscall_allow) {
            std::set<std::string> allowed, denied;
            (void)expand_syscall_entry(a.value, allowed);
            for (const auto& d : *merged.syscall_deny) (void)expand_syscall_entry(d.value, denied);
            for (const auto& s : allowed)
                if (denied.count(s))
                    return at(a.pos, "syscalls.allow", "'" + a.value + "' contradicts syscalls.deny (" + s + ")",
                              "each syscall in at most one of allow and deny");
        }
    }
    if (merged.events_files) p.events.files = *merged.events_files;
    if (merged.journal_limit) p.events.journal_limit_bytes = *merged.journal_limit;
    if (merged.events_reads) {
        p.events.reads = merged.events_reads->value;
        if (p.events.reads && !p.events.files)
            return at(merged.events_reads->pos, "events.reads", "reads are journaled by the file events, which "
                      "this profile turns off", "files = true as well, or reads = false");
    }
    p.accept_missing = values(merged.accept_missing);
    if (merged.snapshot_budget) p.snapshots.budget_bytes = *merged.snapshot_budget;
    if (merged.snapshot_retention_sec) p.snapshots.retention_sec = *merged.snapshot_retention_sec;
    p.limits.memory_bytes = merged.memory_bytes;
    p.limits.pids = merged.pids;
    p.limits.cpu_millicores = merged.cpu_millicores;
    if (merged.approval_timeout_sec) p.approval.timeout_sec = *merged.approval_timeout_sec;
    if (merged.on_timeout) p.approval.on_timeout = *merged.on_timeout;
    return p;
}

}  // namespace sandboxd
