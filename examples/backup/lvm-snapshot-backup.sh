#!/usr/bin/env bash
# Back up a logical volume's file system from a snapshot, and leave nothing behind, whatever fails.
#
#   lvm-snapshot-backup.sh [-s SIZE | -l EXTENTS] [-n NAME] [-c COPY] VG/LV DEST
#
#   -s SIZE     a classic (COW) snapshot of SIZE (lvcreate -L SIZE), e.g. 2G
#   -l EXTENTS  a classic snapshot of EXTENTS (lvcreate -l), e.g. 50%FREE
#               default: -l 80%FREE, or a thin snapshot (no size) when VG/LV is a thin volume
#   -n NAME     the snapshot's name (default: LV_backup)
#   -c COPY     rsync (default: rsync -a --numeric-ids), cp (cp -a), or any command, run as COPY SRC DEST
#
# Steps: snapshot, make the snapshot's file system mountable (XFS: `xfs_repair -L` clears the log that
# the live file system left dirty, then `mount -o ro,nouuid`; ext4: `mount -o ro,noload`), copy into
# DEST/.LV-TIME.partial, check that the snapshot is still valid (a COW snapshot that overflowed during
# the copy is invalid: the copy is not a consistent image), rename to DEST/LV-TIME, print that path.
# Clean-up runs on every exit: umount, remove the mount point, `lvremove -f` the snapshot (retried:
# udev or a monitoring tool may hold the device open for a moment), remove a partial copy.
#
# Exit codes: 0 done; 1 the backup failed and everything was cleaned up; 2 usage; 3 the clean-up could
# not remove something (named on stderr). Environment: LVM_BACKUP_RETRIES (lvremove/umount attempts,
# default 3), LVM_BACKUP_RETRY_DELAY (seconds between them, default 2), TMPDIR (mount points).
set -Eeuo pipefail

prog=${0##*/}
retries=${LVM_BACKUP_RETRIES:-3}
retry_delay=${LVM_BACKUP_RETRY_DELAY:-2}

say() { echo "$prog: $*" >&2; }
die() {
    say "$*"
    exit 1
}
usage() {
    sed -n 's/^#   \{0,1\}//p' "$0" | sed -n '/^lvm-snapshot-backup.sh/,/^-c/p' >&2
    exit 2
}

size_opt=()
snap=""
copy="rsync"
while getopts "s:l:n:c:h" opt; do
    case $opt in
    s) size_opt=(-L "$OPTARG") ;;
    l) size_opt=(-l "$OPTARG") ;;
    n) snap=$OPTARG ;;
    c) copy=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 2 && $1 == */* ]] || usage
vg=${1%%/*}
lv=${1#*/}
dest=$2
snap=${snap:-${lv}_backup}

for tool in lvs lvcreate lvremove mount umount mountpoint blkid; do
    command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
[[ -d $dest && -w $dest ]] || die "$dest is not a writable directory"

# What the clean-up must undo; each is set right after the step that made it.
snapshot_made=""
mountpoint=""
mounted=""
partial=""

cleanup() {
    local rc=$? left=() i
    trap - EXIT ERR INT TERM
    if [[ -n $mounted ]]; then
        for ((i = 1; i <= retries; i++)); do
            # dmeventd unmounts the file system of a snapshot that became invalid: it may be gone
            mountpoint -q "$mountpoint" || { mounted="" && break; }
            umount "$mountpoint" && mounted="" && break
            ((i < retries)) && sleep "$retry_delay"
        done
        [[ -z $mounted ]] || left+=("mount $mountpoint")
    fi
    if [[ -n $mountpoint && -z $mounted ]]; then
        rmdir "$mountpoint" || left+=("directory $mountpoint")
    fi
    if [[ -n $snapshot_made ]]; then
        for ((i = 1; i <= retries; i++)); do
            lvremove -f "$vg/$snap" >/dev/null && snapshot_made="" && break
            ((i < retries)) && sleep "$retry_delay"
        done
        [[ -z $snapshot_made ]] || left+=("snapshot $vg/$snap")
    fi
    if [[ -n $partial ]]; then
        rm -rf -- "$partial" || left+=("partial copy $partial")
    fi
    if ((${#left[@]})); then
        say "clean-up incomplete, left behind: $(printf '%s; ' "${left[@]}")"
        exit 3
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' ERR INT TERM

# The origin: it must exist; a thin volume gets a thin snapshot unless a size was given.
if ! origin=$(lvs --noheadings -o lv_attr,segtype "$vg/$lv" 2>&1); then
    die "no logical volume $vg/$lv: $(echo "$origin" | sed 's/^ *//' | head -n 1)"
fi
read -r attr segtype <<<"$origin"
if [[ $segtype == thin && ${#size_opt[@]} -eq 0 ]]; then
    kind=thin
    create=(lvcreate -s -kn -n "$snap" "$vg/$lv") # -kn: a thin snapshot is skipped on activation
else
    kind=cow
    [[ ${#size_opt[@]} -gt 0 ]] || size_opt=(-l 80%FREE)
    create=(lvcreate -s "${size_opt[@]}" -n "$snap" "$vg/$lv")
fi
[[ ${attr:4:1} == a ]] || die "$vg/$lv is not active"

out=$("${create[@]}" 2>&1) || die "cannot create the snapshot: $(echo "$out" | sed 's/^ *//' | paste -sd ' ')"
snapshot_made=yes
say "$kind snapshot $vg/$snap created"
device=/dev/$vg/$snap

fstype=$(blkid -o value -s TYPE "$device") || die "no file system found on $device"
mount_opts=ro
case $fstype in
xfs)
    # The live file system's log is dirty: clear it on the snapshot (the snapshot is writable), and
    # mount with nouuid: the origin with the same UUID is mounted.
    xfs_repair -L "$device" >/dev/null 2>&1 || die "xfs_repair -L $device failed"
    mount_opts=ro,nouuid
    ;;
ext4 | ext3) mount_opts=ro,noload ;;
*) ;;
esac

mountpoint=$(mktemp -d "${TMPDIR:-/tmp}/lvm-backup.XXXXXX")
out=$(mount -o "$mount_opts" "$device" "$mountpoint" 2>&1) || die "cannot mount $device: $out"
mounted=yes

stamp=$(date -u +%Y%m%dT%H%M%SZ)
final=$dest/$lv-$stamp
partial=$dest/.$lv-$stamp.partial
mkdir "$partial"
case $copy in
rsync) copy_cmd=(rsync -a --numeric-ids "$mountpoint/" "$partial/") ;;
cp) copy_cmd=(cp -a "$mountpoint/." "$partial/") ;;
*)
    read -ra copy_cmd <<<"$copy"
    copy_cmd+=("$mountpoint" "$partial")
    ;;
esac

snapshot_invalid() {
    [[ $kind == cow ]] || return 1
    local a
    a=$(lvs --noheadings -o lv_attr "$vg/$snap" 2>/dev/null) || return 0
    a=${a// /}
    [[ ${a:4:1} == I || ${a:4:1} == S ]]
}

copy_rc=0
"${copy_cmd[@]}" || copy_rc=$?
if snapshot_invalid; then
    die "snapshot $vg/$snap overflowed during the copy (its COW space filled up): the copy is incomplete; use a larger -s"
fi
((copy_rc == 0)) || die "the copy failed (${copy_cmd[0]} exited with $copy_rc)"

mv -- "$partial" "$final"
partial=""
echo "$final"
