// Rollback and the extended attributes a snapshot cannot keep by itself:
// file capabilities the kernel strips when the agent writes, truncates or
// chowns a file; a removed directory's ACLs and user attributes; those of a
// file copied into the store from another filesystem. Red-team findings:
// each came back without them, and rollback said done.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <string>

#include "base/file_io.h"
#include "session_helpers.h"

using namespace sandboxd::test;

namespace {

// cap_net_bind_service, permitted and effective, as setcap writes it
// (VFS_CAP_REVISION_2: magic and flags, then permitted and inheritable
// of the two 32-bit halves).
std::string net_bind_caps() {
    uint32_t words[5] = {0x02000000 | 0x1, 1u << 10, 0, 0, 0};
    return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

// An access ACL (or a default one) giving uid 1000 rw-, as setfacl would.
std::string acl_for_1000() {
    struct Entry {
        uint16_t tag, perm;
        uint32_t id;
    };
    uint32_t version = 2;
    Entry entries[] = {{0x01, 6, ~0u}, {0x02, 6, 1000}, {0x04, 4, ~0u}, {0x10, 6, ~0u}, {0x20, 4, ~0u}};
    std::string out(reinterpret_cast<const char*>(&version), sizeof version);
    out.append(reinterpret_cast<const char*>(entries), sizeof entries);
    return out;
}

void set_attr(const std::string& path, const char* name, const std::string& value) {
    INFO(path << " " << name);
    REQUIRE(::setxattr(path.c_str(), name, value.data(), value.size(), 0) == 0);
}

// The value of `name` on `path`, "(none)" when it has none.
std::string attr(const std::string& path, const char* name) {
    std::string buf(8192, '\0');
    ssize_t n = ::getxattr(path.c_str(), name, buf.data(), buf.size());
    return n < 0 ? std::string("(none)") : buf.substr(0, size_t(n));
}

Unmount tmpfs_at(const std::string& dir) {
    REQUIRE(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=16m,mode=0755") == 0);
    REQUIRE(::chown(dir.c_str(), kAgentUid, kAgentGid) == 0);
    return Unmount{dir};
}

}  // namespace

TEST_CASE("rollback: file capabilities the agent's writes, truncation and chown stripped come back") {
    Host h;
    // Overwritten (a copy put back under the name), appended to, written
    // through one of two names (old bytes put back into the file itself),
    // made longer, chowned.
    for (const char* name : {"overwritten", "appended", "linked", "grown", "chowned"}) {
        plant_file(h.ws / name, std::string("tool ") + name + "\n", 0755);
        set_attr(h.ws / name, "security.capability", net_bind_caps());
    }
    REQUIRE(::link((h.ws / "linked").c_str(), (h.ws / "linked2").c_str()) == 0);
    std::string before = tree_state(h.ws.path());
    auto r = agent_sh(h,
                      "echo x > overwritten && echo y >> appended && echo z > linked && truncate -s 100 grown && "
                      "chown $(id -u):$(id -g) chowned");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    for (const char* name : {"overwritten", "appended", "linked", "grown", "chowned"})
        CHECK(attr(h.ws / name, "security.capability") == "(none)");  // the kernel's doing: what is to be undone
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
    for (const char* name : {"overwritten", "appended", "linked", "linked2", "grown", "chowned"}) {
        INFO(name);
        CHECK(attr(h.ws / name, "security.capability") == net_bind_caps());
    }
}

TEST_CASE("rollback: a removed directory comes back with its ACLs and user attributes") {
    Host h;
    REQUIRE(::mkdir((h.ws / "shared").c_str(), 0775) == 0);
    REQUIRE(::chown((h.ws / "shared").c_str(), kAgentUid, kAgentGid) == 0);
    set_attr(h.ws / "shared", "system.posix_acl_access", acl_for_1000());
    set_attr(h.ws / "shared", "system.posix_acl_default", acl_for_1000());
    set_attr(h.ws / "shared", "user.tag", "keep me");
    std::string long_value(3000, 'v');  // what one ext4 block holds
    set_attr(h.ws / "shared", "user.long", long_value);
    auto r = agent_sh(h, "rmdir shared");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE_FALSE(path_exists(h.ws / "shared"));
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(attr(h.ws / "shared", "system.posix_acl_access") == acl_for_1000());
    CHECK(attr(h.ws / "shared", "system.posix_acl_default") == acl_for_1000());
    CHECK(attr(h.ws / "shared", "user.tag") == "keep me");
    CHECK(attr(h.ws / "shared", "user.long") == long_value);
}

// On a filesystem mounted inside the workspace a removed file is copied
// into the store (a rename cannot cross mounts), and the copy, made as the
// agent, holds only user attributes. A file with other names cannot be
// copied at all without parting them: its removal is refused.
TEST_CASE(
    "rollback: files removed on a filesystem inside the workspace - ACLs and long attributes come back, other names "
    "are not parted") {
    Host h;
    REQUIRE(::mkdir((h.ws / "sub").c_str(), 0755) == 0);
    Unmount unmount = tmpfs_at(h.ws / "sub");
    plant_file(h.ws / "sub/acl.txt", "acl\n");
    set_attr(h.ws / "sub/acl.txt", "system.posix_acl_access", acl_for_1000());
    std::string long_value(5000, 'w');
    set_attr(h.ws / "sub/acl.txt", "user.long", long_value);
    plant_file(h.ws / "sub/P", "shared bytes\n");
    REQUIRE(::link((h.ws / "sub/P").c_str(), (h.ws / "sub/Q").c_str()) == 0);
    std::string before = tree_state(h.ws / "sub");
    auto r = agent_sh(h, "rm sub/acl.txt && echo EVIL > sub/P; rm sub/P; echo rm=$?");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("rm=1"));  // refused: P has another name
    CHECK(path_exists(h.ws / "sub/P"));
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws / "sub") == before);
    CHECK(attr(h.ws / "sub/acl.txt", "system.posix_acl_access") == acl_for_1000());
    CHECK(attr(h.ws / "sub/acl.txt", "user.long") == long_value);
    CHECK(*sandboxd::read_file(h.ws / "sub/Q") == "shared bytes\n");
    struct stat p {
    }, q{};
    REQUIRE(::stat((h.ws / "sub/P").c_str(), &p) == 0);
    REQUIRE(::stat((h.ws / "sub/Q").c_str(), &q) == 0);
    CHECK(p.st_ino == q.st_ino);
}

// A write through a shared mapping does not make the kernel strip file
// capabilities as write() does: the agent rewrote a capability binary of
// its own and kept the capability on its bytes, and a later truncation's
// snapshot recorded that capability beside them, which a rollback of only
// that path put back (red-team findings). The first open for writing now
// strips it, as the first write would.
TEST_CASE("rollback: a capability binary rewritten through a mapping keeps no capability - not after a partial rollback either") {
    Host h;
    std::string original = "#!/bin/sh\necho original tool\n";
    for (const char* name : {"tool", "tool2"}) {
        plant_file(h.ws / name, original, 0755);
        set_attr(h.ws / name, "security.capability", net_bind_caps());
    }
    auto mapped_write = [](const char* name) {
        return std::string("python3 -c \"import mmap, os\nfd = os.open('") + name +
               "', os.O_RDWR)\nm = mmap.mmap(fd, 0)\nm[0:9] = b'#!/bin/ev'\nm.flush()\"";
    };
    auto r = agent_sh(h, "ln tool h && " + mapped_write("h") + " && truncate -s 20 tool && " + mapped_write("tool2"));
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(attr(h.ws / "tool", "security.capability") == "(none)");
    CHECK(attr(h.ws / "tool2", "security.capability") == "(none)");  // the agent's bytes, written through a mapping
    std::string id = only_session(h);
    auto partial = h.ctl({"rollback", "--path", h.ws / "tool", id});
    INFO(partial.out << partial.err);
    CHECK(partial.status == 0);
    // Whatever a partial rollback leaves, a capability only with the bytes
    // it came with.
    if (*sandboxd::read_file(h.ws / "tool") != original) CHECK(attr(h.ws / "tool", "security.capability") == "(none)");
    auto rb = h.ctl({"rollback", id});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(*sandboxd::read_file(h.ws / "tool") == original);
    CHECK(attr(h.ws / "tool", "security.capability") == net_bind_caps());
    CHECK_FALSE(path_exists(h.ws / "h"));
}

// Two changes to metadata with no record rollback could use (red-team
// findings; rollback said done and left them): a truncation to the same
// length (or O_TRUNC of an empty file), which changes no byte but strips
// set-id bits and capabilities; and an access ACL equivalent to a mode,
// which the kernel keeps as the mode alone, so the file was left 0777.
TEST_CASE("rollback: what a same-length truncation stripped and the mode an access ACL rewrote come back") {
    Host h;
    plant_file(h.ws / "samelen", "abc", 06755);
    plant_file(h.ws / "capsame", "x", 0755);
    set_attr(h.ws / "capsame", "security.capability", net_bind_caps());
    plant_file(h.ws / "empty-suid", "", 06755);
    plant_file(h.ws / "acl-file", "secret\n", 0640);
    plant_file(h.ws / "acl-sgid", "tool\n", 02750);
    std::string before = tree_state(h.ws.path());
    // u::rwx g::rwx o::rwx: an ACL that is a mode, 0777.
    auto r = agent_sh(h,
                      "truncate -s 3 samelen && truncate -s 1 capsame && python3 -c \"import os, struct\n"
                      "os.close(os.open('empty-suid', os.O_RDONLY | os.O_TRUNC))\n"
                      "acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, 7, 0xffffffff) for t in (1, 4, 32))\n"
                      "for f in ('acl-file', 'acl-sgid'): os.setxattr(f, 'system.posix_acl_access', acl)\"");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    // The kernel's doing, which rollback is to undo.
    struct stat st{};
    REQUIRE(::stat((h.ws / "samelen").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(attr(h.ws / "capsame", "security.capability") == "(none)");
    REQUIRE(::stat((h.ws / "acl-file").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0777);
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
    CHECK(attr(h.ws / "capsame", "security.capability") == net_bind_caps());
}

// What rollback makes anew (a copy put back under the name, a removed
// directory) inherited the default ACL the agent had set on the directory
// above, which is undone only later: a restored secret readable by the
// user the ACL names, and the directory passing that on to every file the
// user made in it afterwards (a red-team finding).
TEST_CASE("rollback: what comes back inherits no default ACL the agent set above it") {
    Host h;
    plant_file(h.ws / "secret.txt", "secret\n", 0660);
    plant_file(h.ws / "docs/a.txt", "a\n", 0640);
    REQUIRE(::chmod((h.ws / "docs").c_str(), 0750) == 0);
    std::string before = tree_state(h.ws.path());
    std::string acl;
    for (unsigned char c : acl_for_1000()) acl += "\\x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
    auto r = agent_sh(h, "python3 -c \"import os; os.setxattr('.', 'system.posix_acl_default', b'" + acl +
                             "')\" && echo more >> secret.txt && rm -rf docs");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE(attr(h.ws.path(), "system.posix_acl_default") == acl_for_1000());
    auto rb = h.ctl({"rollback", only_session(h)});
    INFO(rb.out << rb.err);
    CHECK(rb.status == 0);
    CHECK(tree_state(h.ws.path()) == before);
    CHECK(attr(h.ws.path(), "system.posix_acl_default") == "(none)");
    for (std::string path : {h.ws / "secret.txt", h.ws / "docs", h.ws / "docs/a.txt"}) {
        INFO(path);
        CHECK(attr(path, "system.posix_acl_access") == "(none)");
        CHECK(attr(path, "system.posix_acl_default") == "(none)");
    }
}
