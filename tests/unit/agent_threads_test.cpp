// What the gate keeps of an agent thread (its working directory and umask)
// against the counts the BPF programs keep, here set by hand: a real child
// process is the "agent", changing its directory and umask on command, and
// the counts are told of a change or not, as the test needs. The kernel
// side (the programs counting for real) is in the privileged snapshot gate
// tests.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "base/unique_fd.h"
#include "gate/agent_threads.h"
#include "inode.h"
#include "tempdir.h"

using sandboxd::AgentStateCounts;
using sandboxd::AgentThreads;
using sandboxd::test::TempDir;
using sandboxd::test::inode_of;

namespace {

// A child that runs "c PATH" (chdir) and "u OCTAL" (umask) commands, one a
// line, and answers each with one byte once done.
class Agent {
public:
    Agent() {
        int to[2], from[2];
        REQUIRE(::pipe2(to, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(from, O_CLOEXEC) == 0);
        sandboxd::UniqueFd to_read(to[0]), from_write(from[1]);
        to_.reset(to[1]);
        from_.reset(from[0]);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            // Its own ends only: the parent's closing to_ must read as EOF here.
            to_.reset();
            from_.reset();
            serve(to_read.get(), from_write.get());
        }
    }
    ~Agent() {
        to_.reset();  // EOF: the child exits
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }
    void chdir(const std::string& path) { command("c " + path); }
    void umask(mode_t mask) { command("u " + std::to_string(mask)); }

private:
    void command(const std::string& line) {
        std::string text = line + "\n";
        REQUIRE(::write(to_.get(), text.data(), text.size()) == ssize_t(text.size()));
        char ok = 0;
        REQUIRE(::read(from_.get(), &ok, 1) == 1);
        REQUIRE(ok == 'y');
    }
    [[noreturn]] static void serve(int in, int out) {
        std::string line;
        char c = 0;
        while (::read(in, &c, 1) == 1) {
            if (c != '\n') {
                line.push_back(c);
                continue;
            }
            bool done = line[0] == 'c' ? ::chdir(line.c_str() + 2) == 0
                                       : (::umask(mode_t(std::stoul(line.substr(2)))), true);
            char answer = done ? 'y' : 'n';
            if (::write(out, &answer, 1) != 1) _exit(1);
            line.clear();
        }
        _exit(0);
    }
    sandboxd::UniqueFd to_, from_;  // the parent's ends: commands out, answers in
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("agent threads: a kept umask and working directory are read again once a change has begun") {
    TempDir dir("sandboxd-threads");
    std::string a = dir / "a", b = dir / "b";
    REQUIRE(::mkdir(a.c_str(), 0755) == 0);
    REQUIRE(::mkdir(b.c_str(), 0755) == 0);
    Agent agent;
    agent.chdir(a);
    agent.umask(022);
    uint64_t entered = 0, exited = 0;
    AgentThreads threads(true, AgentStateCounts{&entered, &exited, nullptr});
    auto t = threads.get(agent.pid());
    REQUIRE(t);
    REQUIRE(AgentThreads::status_fd(**t) >= 0);
    auto cwd = [&] {
        auto fd = threads.working_dir(**t);
        REQUIRE(fd);
        return inode_of(fd->get());
    };

    CHECK(threads.umask(**t) == 022);
    CHECK(cwd() == inode_of(a));

    SECTION("kept while the counts stay (here: a change they were not told of)") {
        agent.umask(077);
        agent.chdir(b);
        CHECK(threads.umask(**t) == 022);
        CHECK(cwd() == inode_of(a));
    }
    SECTION("read again once a change has begun - and not kept while one is under way") {
        agent.umask(077);
        agent.chdir(b);
        entered = 1;  // begun, not ended
        CHECK(threads.umask(**t) == 077);
        CHECK(cwd() == inode_of(b));
        agent.umask(0);
        agent.chdir(a);
        CHECK(threads.umask(**t) == 0);  // nothing was kept: read again
        CHECK(cwd() == inode_of(a));
        exited = 1;  // ended: what is read now is kept
        CHECK(threads.umask(**t) == 0);
        CHECK(cwd() == inode_of(a));
        agent.umask(022);
        agent.chdir(b);
        CHECK(threads.umask(**t) == 0);
        CHECK(cwd() == inode_of(a));
    }
    SECTION("more ended than begun (never in a sound count): nothing is kept") {
        entered = 1;
        exited = 2;
        agent.umask(077);
        agent.chdir(b);
        CHECK(threads.umask(**t) == 077);
        CHECK(cwd() == inode_of(b));
        agent.umask(0);
        agent.chdir(a);
        CHECK(threads.umask(**t) == 0);
        CHECK(cwd() == inode_of(a));
    }
}

TEST_CASE("agent threads: without counts or with a root that may change nothing is kept") {
    TempDir dir("sandboxd-threads");
    std::string a = dir / "a", b = dir / "b";
    REQUIRE(::mkdir(a.c_str(), 0755) == 0);
    REQUIRE(::mkdir(b.c_str(), 0755) == 0);
    Agent agent;
    agent.chdir(a);
    agent.umask(022);
    uint64_t entered = 0, exited = 0;
    bool root_fixed = GENERATE(true, false);
    AgentThreads threads(root_fixed, root_fixed ? AgentStateCounts{} : AgentStateCounts{&entered, &exited, nullptr});
    auto t = threads.get(agent.pid());
    REQUIRE(t);
    REQUIRE(AgentThreads::status_fd(**t) >= 0);
    auto first = threads.working_dir(**t);
    REQUIRE(first);
    CHECK(inode_of(first->get()) == inode_of(a));
    (void)threads.umask(**t);
    agent.chdir(b);
    agent.umask(077);
    auto second = threads.working_dir(**t);
    REQUIRE(second);
    CHECK(inode_of(second->get()) == inode_of(b));
    if (!root_fixed) return;  // counts given: the umask is kept (its own test above)
    CHECK(threads.umask(**t) == 077);
}
