#include "bpf/pidns_offsets.h"

#include <sys/stat.h>

#include <bpf/btf.h>

#include <memory>
#include <optional>
#include <string>

namespace sandboxd {
namespace {

// The host's pid namespace always has this inode number (PROC_PID_INIT_INO).
constexpr ino_t kHostPidNamespace = 0xEFFFFFFC;

struct BtfFree {
    void operator()(btf* b) const { btf__free(b); }
};

// The byte offset of member `name` in struct `type`, looking into the
// anonymous structs and unions it holds (a layout may move a field into
// one from one kernel to the next).
std::optional<uint32_t> member_offset(const btf* b, const btf_type* t, const std::string& name) {
    if (!btf_is_composite(t)) return std::nullopt;
    const btf_member* m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); ++i, ++m) {
        uint32_t bits = btf_member_bit_offset(t, i);
        if (bits % 8) continue;  // a bit field: never one of ours
        const char* member = btf__name_by_offset(b, m->name_off);
        if (member && name == member) return bits / 8;
        if (member && *member) continue;
        int32_t id = btf__resolve_type(b, m->type);
        if (id < 0) continue;
        if (auto inner = member_offset(b, btf__type_by_id(b, uint32_t(id)), name)) return bits / 8 + *inner;
    }
    return std::nullopt;
}

// The offset of `member` in struct `type`; 0 and `missing` set if either
// is not there.
uint32_t offset_in(const btf* b, const char* type, const char* member, std::string& missing) {
    int32_t id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
    auto at = id < 0 ? std::nullopt : member_offset(b, btf__type_by_id(b, uint32_t(id)), member);
    if (!at && missing.empty()) missing = std::string("struct ") + type + " has no " + member;
    return at.value_or(0);
}

}  // namespace

Result<sbx_pidns> supervisor_pidns() {
    sbx_pidns out{};
    struct stat st{};
    if (::stat("/proc/self/ns/pid", &st) != 0) return errno_error("cannot look at sandbox-run's pid namespace");
    if (st.st_ino == kHostPidNamespace) return out;
    std::unique_ptr<btf, BtfFree> b(btf__load_vmlinux_btf());
    if (!b) return errno_error("cannot read the kernel's BTF");
    std::string missing;
    const btf* k = b.get();
    out.task_thread_pid = offset_in(k, "task_struct", "thread_pid", missing);
    out.task_group_leader = offset_in(k, "task_struct", "group_leader", missing);
    out.pid_level = offset_in(k, "pid", "level", missing);
    out.pid_numbers = offset_in(k, "pid", "numbers", missing);
    out.upid_nr = offset_in(k, "upid", "nr", missing);
    out.upid_ns = offset_in(k, "upid", "ns", missing);
    out.ns_inum = offset_in(k, "pid_namespace", "ns", missing) + offset_in(k, "ns_common", "inum", missing);
    int32_t upid = btf__find_by_name_kind(k, "upid", BTF_KIND_STRUCT);
    out.upid_size = upid < 0 ? 0 : btf__type_by_id(k, uint32_t(upid))->size;
    if (!missing.empty() || out.upid_size == 0)
        return plain_error("the kernel's BTF does not say where a thread's ids are (" + missing + ")");
    out.inum = uint32_t(st.st_ino);
    return out;
}

}  // namespace sandboxd
