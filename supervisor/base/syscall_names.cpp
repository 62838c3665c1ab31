#include "base/syscall_names.h"

#include <seccomp.h>

#include <cstdlib>

namespace sandboxd {

namespace {

struct NewerSyscall {
    std::string_view name;
    int nr;
};
#if defined(__x86_64__)
constexpr NewerSyscall kNewerSyscalls[] = {{"open_tree_attr", 467}, {"file_setattr", 469}};
#else
constexpr NewerSyscall kNewerSyscalls[] = {{"", -1}};
#endif

}  // namespace

int syscall_number(std::string_view name) {
    std::string n(name);
    if (int nr = seccomp_syscall_resolve_name(n.c_str()); nr >= 0) return nr;
    for (const auto& s : kNewerSyscalls)
        if (!name.empty() && s.name == name) return s.nr;
    return -1;
}

std::string syscall_name(int nr) {
    if (char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr)) {
        std::string out = name;
        std::free(name);
        return out;
    }
    for (const auto& s : kNewerSyscalls)
        if (s.nr >= 0 && s.nr == nr) return std::string(s.name);
    return "syscall " + std::to_string(nr);
}

}  // namespace sandboxd
