// Hidden paths: what the profile's `hide` keeps from the agent, attacked
// from inside a real session and changed by the host while it runs.
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <thread>

#include "base/file_io.h"
#include "journal/journal.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

// A home directory, and a user made for the test with it as $HOME (the
// profiles' hidden paths are spelled with ${HOME}, which comes from the
// passwd entry).
struct UserHome {
    TempDir dir{"sandboxd-home", "/var/tmp"};
    std::string user = "sbxsecret" + std::to_string(::getpid() % 100000);

    UserHome() {
        REQUIRE(run({"/usr/sbin/useradd", "--no-create-home", "--home-dir", dir.path(), "--shell", "/bin/sh", user})
                    .status == 0);
    }
    ~UserHome() { run({"/usr/sbin/userdel", user}); }
    UserHome(const UserHome&) = delete;
    UserHome& operator=(const UserHome&) = delete;

    const std::string& path() const { return dir.path(); }
    std::string operator/(const std::string& name) const { return dir / name; }
    // Gives the home and all that is in it to the user.
    void own() const {
        REQUIRE(run({"/bin/chown", "-R", user + ":", dir.path()}).status == 0);
        REQUIRE(chmod(dir.path().c_str(), 0755) == 0);
    }
};

// A unix socket listening at `path` (as gpg-agent's does), closed with it.
struct Listener {
    sandboxd::UniqueFd fd;
    explicit Listener(const std::string& path) : fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        REQUIRE(path.size() < sizeof a.sun_path);
        std::copy(path.begin(), path.end(), a.sun_path);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd.get(), 8) == 0);
        REQUIRE(::chmod(path.c_str(), 0777) == 0);
    }
};

}  // namespace

// The readonly profile reads "/", which is also the agent's own $HOME: its
// keys, cloud logins and tokens, and /run/user's session bus and agent
// sockets were all readable (19 of 19 planted secrets). A red-team
// finding. The user is made for the test: the agent's $HOME comes from
// its passwd entry.
TEST_CASE("readonly and coding-agent profiles: the agent's own secrets and /run/user are hidden") {
    Host h;
    UserHome home;
    const std::string& user = home.user;
    std::vector<std::string> secrets = {".ssh/id_ed25519",
                                        ".aws/credentials",
                                        ".config/gcloud/credentials.db",
                                        ".netrc",
                                        ".git-credentials",
                                        ".kube/config",
                                        ".gnupg/pubring.kbx",
                                        ".cargo/credentials.toml",
                                        ".cache/huggingface/token",
                                        ".bash_history"};
    for (const auto& f : secrets) plant_file(home / f, "SECRET\n");
    plant_file(home / "proj/visible", "VISIBLE\n");
    home.own();
    std::string script = "cat " + home / "proj/visible" + ";";
    for (const auto& f : secrets) script += " cat " + home / f + " 2>/dev/null;";
    for (const char* profile : {"readonly", "coding-agent"}) {
        auto r = h.run({"--user", user, "--profile", profile, "--workspace", home / "proj", "--", "sh", "-c",
                        script + " ls /run/user 2>/dev/null | wc -l"});
        INFO(profile << ": " << r.out << r.err);
        CHECK(r.status == 0);
        CHECK_THAT(r.out, !Catch::Contains("SECRET"));
        CHECK_THAT(r.out, Catch::StartsWith("VISIBLE\n"));
    }
}

// A hidden path is a mount point, but the directories above it were not:
// moving one took the hidden file out from under its mount, readable by
// the next session (coding-agent hides ~/.cache/huggingface/token and
// lets the agent write ~/.cache).
TEST_CASE("the directories above a hidden path in a write tree stay in place - the secret stays hidden") {
    Host h;
    plant_file(h.ws / ".cache/hf/token", "SECRET-TOKEN\n");
    std::string hiding = h.profile(
        "hiding", "name='hiding'\nextends='workspace-t'\n[filesystem]\nhide=['" + (h.ws / ".cache/hf/token") + "']\n");
    auto run = [&] {
        return h.run({"--user", kAgentUser, "--profile", hiding, "--workspace", h.ws.path(), "--", "sh", "-c",
                      "mv .cache/hf .cache/moved; mv .cache cache2; cat .cache/moved/token cache2/hf/token "
                      ".cache/hf/token 2>/dev/null; echo end"});
    };
    auto first = run();
    INFO(first.err);
    CHECK(first.out.find("SECRET") == std::string::npos);
    auto second = run();
    CHECK(second.out.find("SECRET") == std::string::npos);
    CHECK(*sandboxd::read_file(h.ws / ".cache/hf/token") == "SECRET-TOKEN\n");
}

// A hidden path's mount covers the file that was there at the start. The
// host replacing it by rename (git's credential store, gh, docker login)
// detached the mount, and one that did not exist yet (`aws configure`) had
// none: the agent read all of them (5 of 5 before the rules were granted
// around hidden paths).
TEST_CASE("hidden paths the host replaces or makes mid-session stay out of the agent's reach") {
    Host h;
    UserHome home;
    plant_file(home / ".netrc", "OLD-SECRET\n");
    // git's lock file, mid-write as the session starts.
    plant_file(home / ".git-credentials.lock", "LOCK-SECRET\n");
    plant_file(home / ".config/other/settings", "VISIBLE-CONFIG\n");
    plant_file(home / "proj/visible", "VISIBLE\n");
    REQUIRE(symlink("/etc/hostname", (home / "hostname-link").c_str()) == 0);
    home.own();
    const std::vector<std::string> secrets = {".netrc", ".git-credentials", ".aws/credentials", ".config/gh/hosts.yml",
                                              "new-file"};
    std::string script = "cat proj/visible .config/other/settings; cat hostname-link >/dev/null && echo link-ok; " +
                         shell_wait_for("proj/go");
    for (const auto& f : secrets) script += " cat " + f + " 2>/dev/null;";
    script += " echo end";
    auto r = h.run_meanwhile({"--user", home.user, "--profile", "readonly", "--workspace", home / "proj", "--", "sh",
                              "-c", "cd " + home.path() + " && " + script},
                             [&] {
                                 h.wait_for_session(1);
                                 sleep_ms(300);  // past the first cat
                                 plant_file(home / ".netrc.new", "NEW-SECRET\n");
                                 std::filesystem::rename(home / ".netrc.new", home / ".netrc");
                                 std::filesystem::rename(home / ".git-credentials.lock", home / ".git-credentials");
                                 plant_file(home / ".aws/credentials", "AWS-SECRET\n");
                                 plant_file(home / ".config/gh/hosts.yml", "GH-SECRET\n");
                                 plant_file(home / "new-file", "NEW-FILE-SECRET\n");
                                 REQUIRE(run({"/bin/chown", "-R", home.user + ":", home.path()}).status == 0);
                                 plant_file(home / "proj/go", "");
                             });
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("VISIBLE\nVISIBLE-CONFIG\nlink-ok\n"));
    CHECK_THAT(r.out, Catch::EndsWith("end\n"));
    CHECK_THAT(r.out, !Catch::Contains("SECRET"));
    // The host's files are the host's: nothing was changed.
    CHECK(*sandboxd::read_file(home / ".netrc") == "NEW-SECRET\n");
    // And --explain says what the price is.
    auto x = h.run({"--explain", "--user", home.user, "--profile", "readonly", "--workspace", home / "proj"});
    CHECK_THAT(x.out, Catch::Contains("granted entry by entry around hidden paths"));
}

// Dotfiles kept elsewhere (stow, yadm): ~/.netrc a link into ~/dotfiles.
// The host's tools write through the link (git makes its lock file next
// to where it leads and renames it over that), so the mount on the old
// file went and the new secret was readable, as was a gpg-agent socket
// made in a ~/.gnupg the host made mid-session (the gate's look at unix
// connects knew only hidden paths that existed at the start).
TEST_CASE(
    "a hidden dotfile kept elsewhere and a hidden socket made mid-session stay out of the agent's "
    "reach") {
    Host h;
    UserHome home;
    plant_file(home / "dotfiles/netrc", "OLD-SECRET\n");
    plant_file(home / "dotfiles/vimrc", "VISIBLE-DOTFILE\n");
    plant_file(home / "proj/visible", "VISIBLE\n");
    REQUIRE(symlink("dotfiles/netrc", (home / ".netrc").c_str()) == 0);
    home.own();
    const std::string sock = home / ".gnupg/S.gpg-agent";
    std::optional<Listener> agent_socket;  // made during the session, kept until its end
    std::string script = "cat proj/visible dotfiles/vimrc; " + shell_wait_for("proj/go") +
                         "cat .netrc dotfiles/netrc 2>/dev/null; "
                         "python3 -c 'import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n "
                         "s.connect(sys.argv[1]); print(\"SECRET-connected\")\n"
                         "except OSError as e: print(\"refused\", e.errno)' " +
                         sock + "; echo end";
    auto r = h.run_meanwhile({"--user", home.user, "--profile", "readonly", "--workspace", home / "proj", "--", "sh",
                              "-c", "cd " + home.path() + " && " + script},
                             [&] {
                                 h.wait_for_session(1);
                                 sleep_ms(300);
                                 plant_file(home / "dotfiles/netrc.lock", "NEW-SECRET\n");
                                 std::filesystem::rename(home / "dotfiles/netrc.lock", home / "dotfiles/netrc");
                                 REQUIRE(sandboxd::make_dirs(home / ".gnupg", 0700).ok());
                                 agent_socket.emplace(sock);
                                 home.own();
                                 plant_file(home / "proj/go", "");
                             });
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::StartsWith("VISIBLE\nVISIBLE-DOTFILE\n"));
    CHECK_THAT(r.out, Catch::Contains("refused 13\nend\n"));
    CHECK_THAT(r.out, !Catch::Contains("SECRET"));
}

// The agent may write ~/.cache under coding-agent, which hides
// ~/.cache/huggingface/token: a symlink it put at ~/.cache/huggingface
// made the host's next `huggingface-cli login` write the token into the
// workspace, readable by every later session.
TEST_CASE("the way to a hidden path in a write tree cannot be redirected by the agent") {
    Host h;
    UserHome home;
    plant_file(home / ".cache/pip/x", "cache\n");
    plant_file(home / "proj/visible", "VISIBLE\n");
    home.own();
    auto r = h.run({"--user", home.user, "--profile", "coding-agent", "--workspace", home / "proj", "--", "sh", "-c",
                    "mkdir hf; ln -s " + home / "proj/hf" + " " + home / ".cache/huggingface" +
                        "; echo link=$?; "
                        "mkdir " +
                        home / ".cache/huggingface" + " && touch " + home / ".cache/huggingface/token" +
                        "; echo token=$?; echo new > " + home / ".cache/pip/y" + "; echo cache=$?"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("link=1"));
    CHECK_THAT(r.out, Catch::Contains("token=1"));
    CHECK_THAT(r.out, Catch::Contains("cache=0"));
    CHECK_FALSE(path_exists(home / ".cache/huggingface/token"));
    struct stat st {};
    CHECK((::lstat((home / ".cache/huggingface").c_str(), &st) != 0 || S_ISDIR(st.st_mode)));
}

// The home reached under a second path too (a bind mount: /home bound from
// /data/home, a path an admin or a container runtime set up): the covers
// were on one path only, and every secret was read under the other.
TEST_CASE("hidden paths stay hidden under every mount their filesystem is reached through") {
    Host h;
    UserHome home;
    TempDir alias("sandboxd-alias", "/var/tmp");
    plant_file(home / ".netrc", "SECRET-NETRC\n");
    plant_file(home / ".ssh/id_ed25519", "SECRET-KEY\n");
    plant_file(home / "proj/visible", "VISIBLE\n");
    home.own();
    REQUIRE(::mount(home.path().c_str(), alias.path().c_str(), nullptr, MS_BIND, nullptr) == 0);
    Unmount unmount{alias.path()};
    auto r = h.run({"--user", home.user, "--profile", "readonly", "--workspace", home / "proj", "--", "sh", "-c",
                    "cat " + alias / "proj/visible" + "; cat " + alias / ".netrc" + " " + alias / ".ssh/id_ed25519" +
                        " 2>/dev/null; echo end"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "VISIBLE\nend\n");
}

// A watch on a directory reports each entry's events by name: on /etc it
// told when the host read /etc/shadow, which the session hides (helper 40).
// The gate refuses watches on a directory that holds a hidden path (the
// directory above it, and the hidden path's own siblings' watches, work).
TEST_CASE("inotify: no watch on a directory holding a hidden path - its events would name it") {
    Host h;
    plant_file(h.ws / "conf/secret.key", "key\n");
    plant_file(h.ws / "conf/app.ini", "x\n");
    std::string p = h.profile("hide-key", "name = 'hide-key'\nextends = '" + h.workspace_profile +
                                              "'\n[filesystem]\nhide = ['${WORKSPACE}/conf/secret.key']\n");
    const std::string script =
        "import ctypes, errno\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "fd = libc.inotify_init1(0)\n"
        "def watch(p):\n"
        "    wd = libc.inotify_add_watch(fd, p.encode(), 0xfff)\n"
        "    return str(wd) if wd >= 0 else errno.errorcode[ctypes.get_errno()]\n"
        "print(watch('conf'), watch('conf/'), watch('.'), watch('conf/app.ini'))\n";
    auto r = h.run({"--user", kAgentUser, "--profile", p, "--workspace", h.ws.path(), "--", "python3", "-c", script});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out == "EACCES EACCES 1 2\n");
    auto lines = sandboxd::read_journal(h.dirs().journal_path(only_session(h)));
    REQUIRE(lines.ok());
    int refused = 0;
    for (const auto& l : *lines)
        if (l.value.value("action", "") == "file.watch" && l.value.value("decision", "") == "deny" &&
            l.value.value("rule", "") == "filesystem.hide")
            ++refused;
    CHECK(refused == 2);
    // The same directory under a profile that hides nothing in it: watched.
    auto plain = h.run({"--user", kAgentUser, "--profile", h.workspace_profile, "--workspace", h.ws.path(), "--",
                        "python3", "-c", script});
    CHECK(plain.out == "1 1 2 3\n");
}
