#!/usr/bin/env bash
# Boot a throwaway VM (virtme-ng, Debian's kernel, software emulation) and run CMD... inside it as root.
#
#   vm/run.sh CMD [ARG...]
#   vm/run.sh --check          # boot a VM for real and check LVM and device-mapper work in it (exit 0),
#                              # else say why (exit 2)
#
# The guest sees the host's file system read-only, with the repository made writable by an overlay
# that vanishes with the VM; vm/out/ is shared read-write to bring results out. Inside, CMD runs from
# the repository root after vm/guest.sh has loaded the loop and device-mapper modules. The exit code is
# CMD's. Environment: LVSIM_VM_TIMEOUT (seconds, default 1800), LVSIM_VM_MEMORY (default 2G),
# LVSIM_VM_CPUS (default 2), LVSIM_VM_TAG (a prefix for the guest's output lines, for VMs run side by
# side), LVSIM_KERNEL (default: the newest /boot/vmlinuz-*).
set -Eeuo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/vm/out"

die() { echo "vm/run.sh: $*" >&2; exit 2; }

[[ $# -gt 0 ]] || die "usage: vm/run.sh CMD [ARG...]"

vng=""
if [[ -x "$root/.venv/bin/vng" ]]; then
    vng="$root/.venv/bin/vng"
elif command -v vng >/dev/null 2>&1; then
    vng=$(command -v vng)
fi
[[ -n $vng ]] || die "vng (virtme-ng) not found: run 'make venv' (it is in the test extras) or 'pip install virtme-ng'"
# vng starts its helpers (virtme-run, virtme-init's builder) through the shell: they sit beside it.
PATH="$(dirname "$vng"):$PATH"
export PATH
command -v qemu-system-x86_64 >/dev/null 2>&1 \
    || die "qemu-system-x86_64 not found: run 'bash vm/provision.sh --host' (Debian package qemu-system-x86)"

kernel=${LVSIM_KERNEL:-}
if [[ -z $kernel ]]; then
    kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | sort -V | tail -n 1)
fi
[[ -n $kernel && -r $kernel ]] \
    || die "no readable kernel in /boot (vmlinuz-*): run 'bash vm/provision.sh --host' (linux-image-amd64)"
version=${kernel##*/vmlinuz-}
[[ -d /lib/modules/$version ]] || die "kernel $kernel has no modules in /lib/modules/$version"

check=false
if [[ $1 == --check ]]; then
    # Not a look for programs: boot the VM and run LVM and device-mapper in it, as the suite will.
    check=true
    set -- bash -c 'dmsetup version >/dev/null && lvm version >/dev/null && losetup -f >/dev/null'
fi

mkdir -p "$out"
# The guest writes CMD's output to a log in vm/out (the serial console can drop output on a busy
# host); it is followed live from here.
log="$out/guest.$$.log"
: >"$log"
follower=""
trap '[[ -z $follower ]] || kill "$follower" 2>/dev/null || true; rm -f "$log"' EXIT
if ! $check; then
    # The follower closes every descriptor above 2 (a caller's `flock` lock among them) and is ended by
    # pid on exit; sed ends with tail (end of its input), so nothing outlives this script.
    tail -n +1 -F "$log" 2>/dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- \
        > >(sed -u "s|^|${LVSIM_VM_TAG:+[$LVSIM_VM_TAG] }|" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-) &
    follower=$!
fi
# virtme-ng shares / over 9p without a page cache, so each program start in the guest re-reads its
# binary and libraries from the host; guest.sh mounts this second read-only export with cache=loose.
cached_root="-fsdev local,id=lvsimroot,path=/,security_model=none,readonly=on,multidevs=remap"
cached_root+=" -device virtio-9p-pci,fsdev=lvsimroot,mount_tag=lvsimroot"
guest_cmd="bash $(printf '%q' "$root/vm/guest.sh") --log $(printf '%q' "$log") $(printf '%q ' "$@")"

status=0
# qemu opens its output as /proc/self/fd/1 and /proc/self/fd/2 (O_TRUNC): on a caller's stdout that is
# a regular file (`make test > log`) that would empty the file, so qemu writes into pipes instead.
timeout -k 30 "${LVSIM_VM_TIMEOUT:-1800}" \
    "$vng" --disable-kvm --run "$kernel" --user root --memory "${LVSIM_VM_MEMORY:-2G}" --cpus "${LVSIM_VM_CPUS:-2}" \
    --rwdir "$out" --qemu-opts="$cached_root" -- "$guest_cmd" \
    > >(cat 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-) 2> >(cat >&2 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-) || status=$?
if $check; then
    [[ $status -eq 0 ]] || die "the test VM booted with $kernel but LVM or device-mapper failed in it" \
        "(exit $status): $(tail -n 5 "$log" | tr '\n' ' ')"
    exit 0
fi
sleep 2  # let tail print the end of the log
if [[ $status -eq 124 ]]; then
    echo "vm/run.sh: the VM did not finish within ${LVSIM_VM_TIMEOUT:-1800} s and was killed" >&2
elif [[ $status -ne 0 && ! -s $log ]]; then
    echo "vm/run.sh: the VM exited with $status before the guest command wrote anything" >&2
fi
exit "$status"
