#!/bin/sh
# sandbox-run on a kernel older than the one it needs, booted for real: the
# stock Debian 12 kernel (Linux 6.1) under QEMU with sandbox-run in an
# initramfs. Each case must refuse to start with exit 125, say which layer
# is missing and how to get it, and leave nothing behind - never fall back
# to a weaker sandbox.
#   tests/kernels/old_kernel_test.sh PATH/TO/sandbox-run
# Exit 77 (skipped, with the reason) when QEMU or the kernel package cannot
# be had; 0 when every check holds; 1 otherwise.
set -eu
sandbox_run=$1
here=$(cd "$(dirname "$0")" && pwd)
cache=/var/cache/sandboxd-tests/kernels

skip() { echo "SKIPPED: $*"; exit 77; }
command -v qemu-system-x86_64 > /dev/null || skip "qemu-system-x86_64 not installed (tools/bootstrap installs it)"
[ -x /bin/busybox ] || skip "busybox-static not installed (tools/bootstrap installs it)"
command -v cpio > /dev/null || skip "cpio not installed (tools/bootstrap installs it)"

# The kernel: Debian 12's own, from its package (downloaded once, kept).
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || skip "no linux-image package known to apt"
mkdir -p "$cache"
kernel=$(ls "$cache/$pkg"/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
if [ -z "$kernel" ]; then
    (cd "$cache" && apt-get download "$pkg" > /dev/null 2>&1) || skip "cannot download $pkg"
    mkdir -p "$cache/$pkg"
    dpkg-deb --fsys-tarfile "$cache/$pkg"_*.deb | tar -x -C "$cache/$pkg" ./boot
    rm -f "$cache/$pkg"_*.deb
    kernel=$(ls "$cache/$pkg"/boot/vmlinuz-* | head -n 1)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/usr/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
cp "$sandbox_run" "$root/usr/bin/sandbox-run"
cc -static -O2 -pthread -o "$root/usr/bin/dirfd_probe" "$here/dirfd_probe.c" || skip "cannot build a static test program"
# The shared libraries sandbox-run needs, where the guest's loader looks.
for lib in $(ldd "$sandbox_run" | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$work/initrd"

# Software emulation: a few seconds to boot, and the same on every host
# (nested KVM on a VM can be slower than emulation, or hang).
boot() {  # extra kernel arguments; the guest's SBX- lines into $work/out
    timeout 300 qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 -nographic -no-reboot \
        -kernel "$kernel" -initrd "$work/initrd" \
        -append "console=ttyS0 panic=-1 quiet rdinit=/init $1" > "$work/console" 2>&1 || true
    tr -d '\r' < "$work/console" | grep -o 'SBX-.*' > "$work/out" || true
    cat "$work/out"
}

fail=0
check() {  # description, then a command that must succeed
    what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fail=1; fi
}
has() { grep -q -- "$1" "$work/out"; }
console_tail() { echo "--- console"; tr -d '\r' < "$work/console" | tail -n 40; }

# Without Landlock at all (left out of the LSM list).
boot "lsm=lockdown,yama,bpf sbx.boot=no-landlock"
check "no Landlock: the guest ran the cases" has '^SBX-DONE'
check "no Landlock: refused with exit 125" has '^SBX-CASE landlock-missing rc=125$'
check "no Landlock: says so and how to get it" has "SBX-ERR .*Landlock (file scope): the kernel has none; boot a kernel with CONFIG_SECURITY_LANDLOCK=y and 'landlock' in the lsm= list"
check "no Landlock: accepted - the session runs" has '^SBX-CASE landlock-accepted rc=0$'
check "no Landlock: accepted - the mount namespace still confines writes" has '^SBX-WS hi $'
check "no Landlock: accepted - warned" has 'SBX-ERR .*warning: weaker sandbox.*"landlock"'
[ $fail -eq 0 ] || console_tail
no_landlock_fail=$fail

boot ""
check "the guest booted and ran the cases" has '^SBX-DONE'
check "the guest runs an older kernel (6.1)" has '^SBX-KERNEL 6\.1\.'
check "write trees: exit 125" has '^SBX-CASE workspace rc=125$'
check "write trees: names memfd_noexec / Linux 6.3" has 'SBX-ERR .*profile workspace cannot be enforced.*vm.memfd_noexec (Linux 6.3)'
check "write trees: names Landlock ABI 3 / Linux 6.2" has 'SBX-ERR .*Landlock ABI .*needs ABI 3, Linux 6.2'
check "write trees: says how to accept both" has 'SBX-ERR .*accept_missing = \["memfd-noexec", "landlock-truncate"\]'
check "memfd accepted: exit 125" has '^SBX-CASE accept-memfd rc=125$'
check "memfd accepted: names the unix socket hooks / Linux 6.7" has 'SBX-ERR .*unix sockets.*Linux 6.7.*"unix-socket-hooks"'
check "nothing left behind by the refusals" has '^SBX-LEFT cgroups=0 records=0$'
check "all accepted: the session runs" has '^SBX-CASE weak rc=0$'
check "all accepted: warned on stderr" has 'SBX-ERR .*warning: weaker sandbox.*"unix-socket-hooks"'
check "all accepted: wrote in the workspace, not in /etc" has '^SBX-WS hi $'
check "all accepted: rm -r through the snapshot gate" has '^SBX-RM .*No such file or directory'
check "events from a private tracefs (none mounted): exec and mkdir journaled, nothing mounted" has '^SBX-EVENTS tracefs=0 exec=[1-9][0-9]* mkdir=[1-9][0-9]*$'
check "all accepted: unlinkat on a directory descriptor, from the main and a second thread (pidfds before 6.9)" has '^SBX-DIRFD unlinkat ok$'
check "--explain: memfd_noexec shown as accepted and weaker" has 'SBX-EXPLAIN .*exec of memory-backed files .*WEAKER (accepted by the profile, memfd-noexec)'
check "--explain: Landlock ABI 2 shown as accepted and weaker" has 'SBX-EXPLAIN .*landlock .*WEAKER (accepted by the profile, landlock-truncate)'
check "all accepted: journaled as weakened" has 'SBX-JOURNAL "weakened":\["memfd-noexec","landlock-truncate","unix-socket-hooks"\]'
if [ $fail -ne 0 ]; then
    [ $no_landlock_fail -ne 0 ] || console_tail
    exit 1
fi
echo "all checks passed"
