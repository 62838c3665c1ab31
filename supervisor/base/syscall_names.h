// Syscall names and numbers of the native architecture, both ways:
// libseccomp's tables, and for the few syscalls newer than the libseccomp
// this is built with (Debian 12's 2.5.4 stops at Linux 6.2's), the
// kernel's own numbers. Without them a group member libseccomp does not
// know would be skipped as "not on this architecture", and the call left
// open (open_tree_attr opened a tree while open_tree was refused).
#pragma once

#include <string>
#include <string_view>

namespace sandboxd {

// -1: not a syscall of this architecture.
int syscall_number(std::string_view name);
// "syscall N" when the number has no name here.
std::string syscall_name(int nr);

}  // namespace sandboxd
