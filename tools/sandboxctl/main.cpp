// sandboxctl: the admin's view of the sessions on this host.
#include <cstdio>

#include "base/terminal_text.h"
#include "commands.h"

namespace sandboxctl {
// Messages name paths and sessions the agent may have chosen.
void complain(const std::string& message) {
    std::fprintf(stderr, "sandboxctl: %s\n", sandboxd::terminal_safe(message, sandboxd::Newlines::Indent).c_str());
}
}  // namespace sandboxctl

int main(int argc, char** argv) {
    CLI::App app{"Watch, freeze, thaw and kill sandboxd agent sessions; check profiles.", "sandboxctl"};
    app.require_subcommand(1);
    std::vector<std::pair<CLI::App*, sandboxctl::Action>> verbs;
    auto reg = [&](sandboxctl::Action (*add)(CLI::App&)) {
        size_t before = app.get_subcommands({}).size();
        auto action = add(app);
        verbs.emplace_back(app.get_subcommands({})[before], std::move(action));
    };
    reg(sandboxctl::add_ps);
    reg(sandboxctl::add_freeze);
    reg(sandboxctl::add_thaw);
    reg(sandboxctl::add_kill);
    reg(sandboxctl::add_log);
    reg(sandboxctl::add_rollback);
    reg(sandboxctl::add_prune);
    reg(sandboxctl::add_profile);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        sandboxctl::complain(std::string(e.what()) + " (see sandboxctl --help)");
        return 2;
    }
    for (auto& [sub, action] : verbs)
        if (sub->parsed()) return action();
    return 2;
}
