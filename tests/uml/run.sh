#!/usr/bin/env bash
# tests/uml/run.sh COMMAND [ARG...]: runs COMMAND as root in a second kernel, Debian's user-mode
# Linux (6.1, cgroup v2 only), booted as an ordinary process; streams its output and exits with
# its exit code. See docs/second-kernel.md.
#
# The guest's root file system is the host's /, read-only (hostfs), seen from the directory where
# this script was started. The guest mounts its own proc, sysfs, devtmpfs, a tmpfs on /tmp, /run
# and /var/tmp, and cgroup2 on /sys/fs/cgroup with +memory +pids +cpu enabled for its children.
# COMMAND finds TMPDIR=/tmp and HOME=/tmp (the guest's tmpfs); variables named WARDEN_* and
# GTEST_* pass through.
#
# The host stays untouched: UML runs in a private mount namespace in which every host mount is
# read-only except a fresh tmpfs over a temporary directory (the guest's memory file, the init
# script, the exit status), so not even a guest that mounts another hostfs path can write to the
# host. Everything it made is gone when it stops.
#
# Environment: WARDEN_UML_TIMEOUT (seconds, default 900): the guest is killed after this and the
# script exits 124. WARDEN_UML_MEM (default 2G): the guest's memory. WARDEN_UML_KERNEL (default
# linux.uml from PATH).
set -euo pipefail

timeout_s=${WARDEN_UML_TIMEOUT:-900}
mem=${WARDEN_UML_MEM:-2G}
kernel=${WARDEN_UML_KERNEL:-linux.uml}

die() {
  echo "uml/run.sh: $*" >&2
  exit 2
}

if [[ ${WARDEN_UML_STAGE:-} != inner ]]; then
  [[ $# -gt 0 ]] || die "usage: tests/uml/run.sh COMMAND [ARG...] (runs COMMAND in a user-mode Linux guest)"
  command -v "$kernel" >/dev/null ||
    die "no user-mode Linux kernel '$kernel': install it with 'apt-get install user-mode-linux' (scripts/setup.sh does), or set WARDEN_UML_KERNEL to its path"
  [[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "WARDEN_UML_TIMEOUT='$timeout_s' is not a whole number of seconds"
  [[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "WARDEN_UML_MEM='$mem' is not a size such as 512M or 2G"
  command -v unshare >/dev/null || die "unshare (util-linux) is missing"
  command -v python3 >/dev/null || die "python3 is missing (it makes the host read-only for the guest)"
  work=$(mktemp -d "${TMPDIR:-/tmp}/warden-uml.XXXXXX")
  trap 'rmdir "$work" 2>/dev/null || true' EXIT
  userns=()
  [[ $(id -u) -eq 0 ]] || userns=(--user --map-root-user)
  status=0
  # A private mount namespace (and PID namespace, so that nothing of UML outlives it).
  WARDEN_UML_STAGE=inner WARDEN_UML_WORK=$work WARDEN_UML_CWD=$PWD \
    unshare "${userns[@]}" --mount --propagation private --pid --fork --kill-child \
    "$0" "$@" || status=$?
  exit "$status"
fi

# ---- Inside the private namespaces. ----
work=$WARDEN_UML_WORK
# Every mount read-only, recursively (mount_setattr(2) with AT_RECURSIVE and MOUNT_ATTR_RDONLY).
python3 - <<'EOF' || die "cannot make the host's mounts read-only for the guest"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint64 * 4)(1, 0, 0, 0)  # attr_set = MOUNT_ATTR_RDONLY
AT_FDCWD, AT_RECURSIVE, SYS_mount_setattr = -100, 0x8000, 442
if libc.syscall(SYS_mount_setattr, AT_FDCWD, b"/", AT_RECURSIVE, attr, ctypes.sizeof(attr)) != 0:
    sys.exit("mount_setattr(/): " + os.strerror(ctypes.get_errno()))
EOF
mount -t tmpfs -o mode=0700 warden-uml "$work" || die "mount(tmpfs on $work) failed"
mkdir "$work/share" "$work/uml"
if [[ -w /etc || -w / ]]; then
  die "the host's / is still writable in the guest's namespace; refusing to boot"
fi

# The command, quoted for the guest's shell, and the variables it inherits.
{
  printf 'cd %q 2>/dev/null || cd /\n' "$WARDEN_UML_CWD"
  while IFS='=' read -r name _; do
    [[ $name =~ ^(WARDEN_|GTEST_) && $name != WARDEN_UML_* ]] && printf 'export %s=%q\n' "$name" "${!name}"
  done < <(env)
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$work/share/command"

cat >"$work/init" <<EOF
#!/bin/sh
# PID 1 of the guest: sets up its own file systems and cgroup v2, runs the command, powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8
fail() { echo "uml/run.sh (guest): \$*" >&2; echo 125 >/run/share/status 2>/dev/null; echo o >/proc/sysrq-trigger; exec sleep 1000; }
mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sysfs /sys || fail "mount sysfs"
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev || fail "mount devtmpfs"
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
for dir in /tmp /run /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs \$dir || fail "mount tmpfs on \$dir"; done
mkdir /run/share && mount -t hostfs -o $work/share hostfs /run/share || fail "mount the share"
# overlay (workspaces) is a module of this kernel, not built in; the host may have no /lib/modules.
insmod "/usr/lib/uml/modules/\$(uname -r)/kernel/fs/overlayfs/overlay.ko" || fail "load the overlay module"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
echo "+memory +pids +cpu" >/sys/fs/cgroup/cgroup.subtree_control || fail "enable memory, pids, cpu"
ip link set lo up || fail "bring lo up"
stty -F /dev/console -onlcr 2>/dev/null
/bin/bash /run/share/command </dev/null
echo \$? >/run/share/status
sync
echo o >/proc/sysrq-trigger
exec sleep 1000
EOF
chmod 0755 "$work/init"

# The console (con0) writes to our stdout; every other console and serial line goes nowhere.
# quiet/loglevel: only kernel errors interleave with the command's output. pty.legacy_count=0 and
# ssl=null skip devices that cost seconds at boot.
TMPDIR=$work/uml timeout -k 5 "$timeout_s" "$kernel" \
  mem="$mem" root=/dev/root rootfstype=hostfs rootflags=/ ro init="$work/init" \
  con0=null,fd:1 con=null ssl=null pty.legacy_count=0 quiet loglevel=3 uml_dir="$work/uml" \
  2>"$work/uml/stderr" </dev/null || uml_status=$?
if [[ ${uml_status:-0} -eq 124 ]]; then
  echo "uml/run.sh: the guest did not finish within ${timeout_s} s (WARDEN_UML_TIMEOUT); killed it" >&2
  exit 124
fi
if [[ ! -s $work/share/status ]]; then
  echo "uml/run.sh: the guest stopped without an exit status (kernel exit ${uml_status:-0}); its stderr:" >&2
  cat "$work/uml/stderr" >&2
  exit 125
fi
exit "$(cat "$work/share/status")"
