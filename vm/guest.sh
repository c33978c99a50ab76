#!/usr/bin/env bash
# Runs inside the VM as root (see vm/run.sh): prepare the guest, then run the command from the repo root.
#   guest.sh --log FILE CMD...    (all output goes to FILE, which the host follows)
set -Eeuo pipefail

if [[ ${1:-} == --log ]]; then
    exec >"$2" 2>&1
    shift 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/vm/out"
export PATH="$root/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export LVM_SUPPRESS_FD_WARNINGS=1 LC_ALL=C PYTHONDONTWRITEBYTECODE=1 LVSIM_IN_VM=1

modprobe -a loop dm_mod dm_thin_pool dm_snapshot

# Make the repository writable for caches (pytest, hypothesis): an overlay in the guest's /run (tmpfs), with
# vm/out (shared with the host) bound back on top. Without overlayfs the repo just stays read-only.
if mkdir -p /run/lvsim-ov/upper /run/lvsim-ov/work /run/lvsim-ov/out \
    && mount --bind "$out" /run/lvsim-ov/out \
    && mount -t overlay overlay \
        -o "lowerdir=$root,upperdir=/run/lvsim-ov/upper,workdir=/run/lvsim-ov/work" "$root"; then
    mount --bind /run/lvsim-ov/out "$out"
fi

cd "$root"
exec "$@"
