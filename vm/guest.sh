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

modprobe -a loop dm_mod dm_snapshot
# A full thin pool queues writes for no_space_timeout seconds (default 60) before failing them; the
# outcome is the same after 5 s, and the exhaustion scenarios hit it several times.
modprobe dm_thin_pool no_space_timeout=5
# LVM's udev rules autoactivate a VG whenever its PVs' metadata changes (vgcfgrestore, vgremove, a new
# PV), racing the commands under test: the guest's own lvm.conf (RealBackend's is private) turns that off.
mkdir -p /etc/lvm
printf 'global {\n\tevent_activation = 0\n}\n' >/etc/lvm/lvm.conf

# Serve /usr, the Python installation behind .venv and the repository from a cached 9p export of the
# host's / (vm/run.sh adds it): program starts no longer re-read every library from the host.
cached=/run/lvsim-root
lower=$root
if mkdir -p "$cached" /run/lvsim-usr/upper /run/lvsim-usr/work \
    && mount -t 9p -o ro,version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose lvsimroot "$cached"; then
    lower=$cached$root
    mount -t overlay overlay -o "lowerdir=$cached/usr,upperdir=/run/lvsim-usr/upper,workdir=/run/lvsim-usr/work" /usr
    pyhome=$(sed -n 's/^home = //p' "$root/.venv/pyvenv.cfg" 2>/dev/null)
    pyprefix=$(dirname "${pyhome:-/usr/bin}")
    if [[ $pyprefix != /usr && -d $cached$pyprefix ]]; then
        mount --bind -o ro "$cached$pyprefix" "$pyprefix"
    fi
fi

# Make the repository writable for caches (pytest, hypothesis): an overlay in the guest's /run (tmpfs), with
# vm/out (shared with the host) bound back on top. Without overlayfs the repo just stays read-only.
if mkdir -p /run/lvsim-ov/upper /run/lvsim-ov/work /run/lvsim-ov/out \
    && mount --bind "$out" /run/lvsim-ov/out \
    && mount -t overlay overlay \
        -o "lowerdir=$lower,upperdir=/run/lvsim-ov/upper,workdir=/run/lvsim-ov/work" "$root"; then
    mount --bind /run/lvsim-ov/out "$out"
fi

cd "$root"
exec "$@"
