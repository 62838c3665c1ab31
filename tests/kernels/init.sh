#!/bin/busybox sh
# PID 1 of the guest: an older kernel booted under QEMU with sandbox-run in
# its initramfs. Runs the cases and prints one "SBX-CASE name rc=N" line
# each (stderr shown before it), then powers off. Read by old_kernel_test.sh.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /var/lib /ws
chown 65534:65534 /ws
echo "SBX-KERNEL $(uname -r)"

run_case() {  # name, then sandbox-run's arguments
    name=$1
    shift
    /usr/bin/sandbox-run "$@" > /tmp/out 2> /tmp/err
    rc=$?
    sed 's/^/SBX-ERR /' /tmp/err
    echo "SBX-CASE $name rc=$rc"
}
mkdir -p /etc/sandboxd-test
printf 'name = "accept-memfd"\nextends = "readonly"\n[kernel]\naccept_missing = ["memfd-noexec"]\n' \
    > /etc/sandboxd-test/accept-memfd.toml
printf 'name = "weak"\nextends = "workspace"\n[kernel]\naccept_missing = ["memfd-noexec", "landlock-truncate", "unix-socket-hooks"]\n' \
    > /etc/sandboxd-test/weak.toml

printf 'name = "no-landlock"\nextends = "workspace"\n[kernel]\naccept_missing = ["memfd-noexec", "landlock", "unix-socket-hooks"]\n' \
    > /etc/sandboxd-test/no-landlock.toml

if grep -q 'sbx.boot=no-landlock' /proc/cmdline; then
    # Booted with Landlock left out of the LSM list.
    run_case landlock-missing --user nobody --profile workspace --workspace /ws -- /bin/true
    run_case landlock-accepted --user nobody --profile /etc/sandboxd-test/no-landlock.toml --workspace /ws -- \
        /bin/sh -c 'echo hi > /ws/ok && ! echo x > /etc/pwned 2>/dev/null'
    echo "SBX-WS $(cat /ws/ok 2>/dev/null) $(ls /etc/pwned 2>/dev/null)"
    echo "SBX-DONE"
    poweroff -f
fi

# Write trees need Landlock ABI 3 (Linux 6.2) and every session needs
# vm.memfd_noexec (6.3): both named in one refusal.
run_case workspace --user nobody --profile workspace --workspace /ws -- /bin/true
# Read-only, memfd accepted: the cgroup BPF unix socket hooks (6.7) are next.
run_case accept-memfd --user nobody --profile /etc/sandboxd-test/accept-memfd.toml -- /bin/true
# Nothing left behind by the refusals.
echo "SBX-LEFT cgroups=$(find /sys/fs/cgroup/sandboxd -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l) records=$(ls /run/sandboxd/sessions 2>/dev/null | wc -l)"
# Everything accepted: the session runs, says it is weaker, and still
# enforces what this kernel can (writes only in the workspace).
run_case weak --user nobody --profile /etc/sandboxd-test/weak.toml --workspace /ws -- \
    /bin/sh -c 'echo hi > /ws/ok && ! echo x > /etc/pwned 2>/dev/null && mkdir -p /ws/d/e && echo x > /ws/d/e/f && rm -r /ws/d'
echo "SBX-RM $(ls /ws/d 2>&1 | head -n 1)"
# No tracefs is mounted here: the event stream makes a private one, and the
# host's mount table stays as it was.
echo "SBX-EVENTS tracefs=$(grep -c tracefs /proc/mounts) exec=$(cat /var/lib/sandboxd/sessions/*/journal.jsonl | grep -c '"action":"exec","target":"/bin/sh"') mkdir=$(cat /var/lib/sandboxd/sessions/*/journal.jsonl | grep -c '"action":"file.mkdir","target":"/ws/d/e"')"
echo x > /ws/victim && chown 65534:65534 /ws/victim
/usr/bin/sandbox-run --user nobody --profile /etc/sandboxd-test/weak.toml --workspace /ws -- \
    /usr/bin/dirfd_probe /ws victim 2>&1 | sed 's/^/SBX-DIRFD /' 
echo "SBX-WS $(cat /ws/ok 2>/dev/null) $(ls /etc/pwned 2>/dev/null)"
/usr/bin/sandbox-run --explain --user nobody --profile /etc/sandboxd-test/weak.toml --workspace /ws 2>&1 |
    grep -E 'WEAKER|CANNOT' | sed 's/^/SBX-EXPLAIN /' 
echo "SBX-JOURNAL $(cat /var/lib/sandboxd/sessions/*/journal.jsonl 2>/dev/null | grep -o '"weakened":[^]]*]')"
echo "SBX-DONE"
poweroff -f
