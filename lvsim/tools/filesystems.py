"""Filesystem tools: mkfs.ext4, mkfs.xfs, mount, umount, xfs_repair, xfs_freeze, fsfreeze, fstrim, blkid, rsync.

Texts are those of e2fsprogs 1.47.0, xfsprogs 6.1.0 and util-linux 2.38.1 (Debian 12, the
LVM 2.03.16 platform), taken from the real tools run on loop devices.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass
from typing import Any

from lvsim.core import content, devmap, fsimage, hosttree, store
from lvsim.core.context import Ctx, RawSpec, command
from lvsim.core.devmap import Device
from lvsim.core.errors import NOT_EMULATED, LvmError
from lvsim.core.model import GiB, LVKind, MiB, State, TiB
from lvsim.tools.toolkit import c_argv, fail, host_file, human_size, parse_options

DMESG = "       dmesg(1) may have more information after failed mount system call."
MKE2FS_BANNER = "mke2fs 1.47.0 (5-Feb-2023)\n"

XFS_USAGE = """Usage: mkfs.xfs
/* blocksize */\t\t[-b size=num]
/* config file */\t[-c options=xxx]
/* metadata */\t\t[-m crc=0|1,finobt=0|1,uuid=xxx,rmapbt=0|1,reflink=0|1,
\t\t\t    inobtcount=0|1,bigtime=0|1]
/* data subvol */\t[-d agcount=n,agsize=n,file,name=xxx,size=num,
\t\t\t    (sunit=value,swidth=value|su=num,sw=num|noalign),
\t\t\t    sectsize=num
/* force overwrite */\t[-f]
/* inode size */\t[-i perblock=n|size=num,maxpct=n,attr=0|1|2,
\t\t\t    projid32bit=0|1,sparse=0|1,nrext64=0|1]
/* no discard */\t[-K]
/* log subvol */\t[-l agnum=n,internal,size=num,logdev=xxx,version=n
\t\t\t    sunit=value|su=num,sectsize=num,lazy-count=0|1]
/* label */\t\t[-L label (maximum 12 characters)]
/* naming */\t\t[-n size=num,version=2|ci,ftype=0|1]
/* no-op info only */\t[-N]
/* prototype file */\t[-p fname]
/* quiet */\t\t[-q]
/* realtime subvol */\t[-r extsize=num,size=num,rtdev=xxx]
/* sectorsize */\t[-s size=num]
/* version */\t\t[-V]
\t\t\tdevicename
<devicename> is required unless -d name=xxx is given.
<num> is xxx (bytes), xxxs (sectors), xxxb (fs blocks), xxxk (xxx KiB),
      xxxm (xxx MiB), xxxg (xxx GiB), xxxt (xxx TiB) or xxxp (xxx PiB).
<value> is xxx (512 byte blocks).
"""

MKE2FS_USAGE = (
    "Usage: mkfs.ext4 [-c|-l filename] [-b block-size] [-C cluster-size]\n"
    "\t[-i bytes-per-inode] [-I inode-size] [-J journal-options]\n"
    "\t[-G flex-group-size] [-N number-of-inodes] [-d root-directory]\n"
    "\t[-m reserved-blocks-percentage] [-o creator-os]\n"
    "\t[-g blocks-per-group] [-L volume-label] [-M last-mounted-directory]\n"
    "\t[-O feature[,...]] [-r fs-revision] [-E extended-option[,...]]\n"
    "\t[-t fs-type] [-T usage-type ] [-U UUID] [-e errors_behavior][-z undo_file]\n"
    "\t[-jnqvDFSV] device [blocks-count]"
)

XFS_REPAIR_USAGE = """Usage: xfs_repair [options] device

Options:
  -f           The device is a file
  -L           Force log zeroing. Do this as a last resort.
  -l logdev    Specifies the device where the external log resides.
  -m maxmem    Maximum amount of memory to be used in megabytes.
  -n           No modify mode, just checks the filesystem for damage.
               (Cannot be used together with -e.)
  -P           Disables prefetching.
  -r rtdev     Specifies the device where the realtime section resides.
  -v           Verbose output.
  -c subopts   Change filesystem parameters - use xfs_admin.
  -o subopts   Override default behaviour, refer to man page.
  -t interval  Reporting interval in seconds.
  -d           Repair dangerously.
  -e           Exit with a non-zero code if any errors were repaired.
               (Cannot be used together with -n.)
  -V           Reports version and exits."""

MOUNT_OPTIONS = {
    "ro",
    "rw",
    "defaults",
    "auto",
    "noauto",
    "atime",
    "noatime",
    "relatime",
    "norelatime",
    "strictatime",
    "lazytime",
    "nolazytime",
    "diratime",
    "nodiratime",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "suid",
    "nosuid",
    "sync",
    "async",
    "dirsync",
    "user",
    "nouser",
    "users",
    "owner",
    "group",
    "nofail",
    "discard",
    "nodiscard",
    "iversion",
    "noiversion",
    "loud",
    "silent",
}
FS_OPTIONS = {
    "xfs": {
        "nouuid",
        "norecovery",
        "inode64",
        "inode32",
        "attr2",
        "noattr2",
        "largeio",
        "nolargeio",
        "wsync",
        "noalign",
        "swalloc",
        "filestreams",
        "grpid",
        "nogrpid",
        "usrquota",
        "grpquota",
        "prjquota",
        "quota",
        "noquota",
        "uquota",
        "gquota",
        "pquota",
    },
    "ext4": {
        "noload",
        "norecovery",
        "data=ordered",
        "data=writeback",
        "data=journal",
        "errors=remount-ro",
        "errors=continue",
        "errors=panic",
        "user_xattr",
        "nouser_xattr",
        "acl",
        "noacl",
        "barrier",
        "nobarrier",
        "journal_checksum",
        "nojournal_checksum",
        "delalloc",
        "nodelalloc",
        "dioread_nolock",
        "init_itable",
        "noinit_itable",
    },
}


def _reason(exc: Exception) -> str:
    return exc.strerror or "" if isinstance(exc, OSError) else "No space left on device"


def _mounted(state: State, dev: Device) -> dict[str, Any] | None:
    return next((m for m in fsimage.mounts(state) if _same(state, m, dev)), None)


def _same(state: State, mount: dict[str, Any], dev: Device) -> bool:
    other = fsimage.mount_device(state, mount)
    return other is not None and (other.base, other.offset) == (dev.base, dev.offset)


def _other_signature(state: State, dev: Device) -> str:
    """What else blkid would find on the device: an LVM label or a partition table."""
    if dev.offset == 0 and dev.base in state.pvs:
        return "LVM2_member"
    from lvsim.tools import partitions

    return "dos" if partitions.read_table(state, dev) else ""


# ---------------------------------------------------------------------------------------------
# mkfs.ext4


def _digits(n: int) -> int:
    return len(str(n)) if n else 0


def _progress(label: str, maximum: int, message: str) -> str:
    """e2fsprogs' numeric progress as a non-tty sees it: one update, then erased."""
    w = _digits(maximum)
    erase = 2 * w + 1
    return f"{label}{0:>{w}}/{maximum:>{w}}" + "\b" * erase + " " * erase + "\b" * erase + message


def _has_super(group: int) -> bool:
    if group <= 1:
        return True
    for base in (3, 5, 7):
        n = group
        while n % base == 0:
            n //= base
        if n == 1:
            return True
    return False


def journal_blocks(blocks: int) -> int:
    """ext2fs_default_journal_size."""
    for limit, size in (
        (32768, 1024),
        (256 * 1024, 4096),
        (512 * 1024, 8192),
        (4096 * 1024, 16384),
        (8192 * 1024, 32768),
        (16384 * 1024, 65536),
        (32768 * 1024, 131072),
    ):
        if blocks < limit:
            return size
    return 262144


@dataclass
class Ext4Geometry:
    """What mke2fs decides for a device of a given size (Debian's mke2fs.conf)."""

    block_size: int
    blocks: int
    groups: int
    inodes: int
    journal: int
    first_block: int

    @classmethod
    def for_size(cls, size: int, block_size: int = 0) -> Ext4Geometry:
        small = size < 512 * MiB
        bs = block_size or (1024 if small else 4096)
        ratio = 4096 if small else 65536 if size >= 16 * TiB else 32768 if size >= 4 * TiB else 16384
        blocks = size // bs
        first = 1 if bs == 1024 else 0
        bpg = bs * 8
        groups = -(-(blocks - first) // bpg)
        ipg = _inodes_per_group(blocks * bs // ratio, groups, bs)
        rem = (blocks - first) % bpg
        if groups > 1 and rem and rem < 3 + ipg * 256 // bs + 50:
            blocks -= rem
            groups -= 1
            ipg = _inodes_per_group(blocks * bs // ratio, groups, bs)
        return cls(bs, blocks, groups, ipg * groups, journal_blocks(blocks), first)

    def backups(self) -> list[int]:
        bpg = self.block_size * 8
        return [g * bpg + self.first_block for g in range(1, self.groups) if _has_super(g)]

    def meta(self) -> list[list[int]]:
        """Regions mke2fs writes (inode tables are lazy): group 0's superblock, descriptors and
        reserved descriptors, the backup superblocks, each flex group's bitmaps, the root and
        lost+found directories behind the inode tables, and the journal."""
        bs, bpg = self.block_size, self.block_size * 8
        gdpb = bs // 64
        gdt = -(-self.groups // gdpb)
        reserved = min(bs // 4, -(-min(2**32, self.blocks * 1024) // bpg // gdpb) - gdt)
        regions = [[0, (self.first_block + 1 + gdt + reserved) * bs]]
        regions += [[b * bs, (1 + gdt) * bs] for b in self.backups()]
        itable = self.inodes // self.groups * 256 // bs
        for flex in range(0, self.groups, 16):
            start = (flex * bpg + self.first_block + 1 + gdt + reserved) * bs
            count = min(16, self.groups - flex)
            regions.append([start, (2 * count + 1) * bs])
            if flex == 0:
                regions.append([start + (2 * count + itable * count) * bs, 13 * bs])
        middle = (self.groups - 1) // 2 * bpg + self.first_block + 2 * bpg // 3
        regions.append([middle * bs, self.journal * bs])
        return sorted(regions)


def _inodes_per_group(inodes: int, groups: int, bs: int) -> int:
    ipg = min(-(-inodes // groups), bs * 8)
    ipg = -(-ipg * 256 // bs) * bs // 256
    return max(ipg & ~7, 8)


def _backups_text(backups: list[int]) -> str:
    out, left = "Superblock backups stored on blocks: ", 0
    for i, block in enumerate(backups):
        if i:
            out += ", "
        need = _digits(block) + 2
        if need > left:
            out += "\n\t"
            left = 72
        left -= need
        out += str(block)
    return out + "\n\n"


@command(RawSpec("mkfs.ext4"))
def mkfs_ext4(ctx: Ctx) -> int:
    opts, pos = parse_options(
        ctx,
        "mkfs.ext4",
        "b:cC:d:e:E:fFg:G:i:I:jJ:KL:m:M:nN:o:O:qr:s:St:T:U:vVz:D",
        MKE2FS_USAGE,
    )
    flags = dict(opts)
    quiet = "q" in flags
    out, err = ctx.console.raw_out, ctx.console.raw_err
    if not quiet:
        err(MKE2FS_BANNER)
    if not pos:
        raise fail(MKE2FS_USAGE, 1)
    dev = devmap.resolve(ctx.state, pos[0])
    if dev is None:
        raise fail(f"The file {pos[0]} does not exist and no size was specified.", 1)
    if _mounted(ctx.state, dev):
        raise fail(f"{pos[0]} is mounted; will not make a filesystem here!", 1)
    label = flags.get("L", "")
    if len(label) > 16:
        err(f"Warning: label too long; will be truncated to '{label[:16]}'\n\n")
        label = label[:16]
    geo = Ext4Geometry.for_size(dev.size, int(flags.get("b", "0") or 0))
    nodiscard = "nodiscard" in flags.get("E", "").split(",")
    uuid = flags.get("U") or fs_uuid(ctx.state)
    if not quiet:
        if not nodiscard:
            out(_progress("Discarding device blocks: ", geo.blocks, "done                            \n"))
        out(
            f"Creating filesystem with {geo.blocks} {geo.block_size // 1024}k blocks and {geo.inodes} inodes\n"
        )
        out(f"Filesystem UUID: {uuid}\n")
        if geo.groups > 1:
            out(_backups_text(geo.backups()))
        done = "done                            \n"
        out(_progress("Allocating group tables: ", geo.groups, done))
        out(_progress("Writing inode tables: ", geo.groups, done))
        out(f"Creating journal ({geo.journal} blocks): done\n")
        out(_progress("Writing superblocks and filesystem accounting information: ", geo.groups, "done\n\n"))
    sb = {"type": "ext4", "uuid": uuid, "label": label, "block_size": geo.block_size, "agcount": 0, "log": []}
    now = ctx.state.clock
    root = {"t": "d", "mode": 0o755, "uid": 0, "gid": 0, "mtime": int(now * 1e9)}
    tree = {".": root, "lost+found": {**root, "mode": 0o700}}
    try:
        fsimage.make(ctx.state, dev, sb, geo.meta(), tree, not nodiscard)
    except (OSError, fsimage.NoSpace) as exc:
        raise fail(f"mkfs.ext4: {_reason(exc)} while writing out and closing file system", 1) from None
    return 0


def fs_uuid(state: State) -> str:
    """A random-looking (deterministic per state) version-4 UUID."""
    import hashlib
    import uuid

    state.counter += 1
    raw = bytearray(hashlib.sha256(f"lvsim-fs-{state.counter}".encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


# ---------------------------------------------------------------------------------------------
# mkfs.xfs

XFS_MAX_LOG_BLOCKS = 521728
XFS_AG_MAX_BLOCKS = (1 << 40) // 4096 - 1  # 1 TiB AGs of 4 KiB blocks, less one
XFS_AG_MIN_BLOCKS = 16 * MiB // 4096
XFS_WHACK_SIZE = 128 * 1024


@dataclass
class XfsGeometry:
    """What mkfs.xfs 6.1 decides: AG count and size, data and log blocks, stripe unit (blocks)."""

    agcount: int
    agsize: int
    blocks: int
    log: int
    sunit: int

    @classmethod
    def for_size(cls, size: int, sunit: int) -> XfsGeometry:
        dblocks = size // 4096
        if dblocks >= 32 * TiB // 4096 or (not sunit and dblocks >= 4 * TiB // 4096):
            agsize = XFS_AG_MAX_BLOCKS
        else:
            if not sunit and dblocks >= 128 * MiB // 4096:
                shift = 2
            else:
                shift = 5
                for limit in (512 * GiB, 8 * GiB, 128 * MiB, 64 * MiB, 32 * MiB):
                    if dblocks < limit // 4096:
                        shift -= 1
            agsize = dblocks >> shift
            if dblocks & ((1 << shift) - 1) and agsize < XFS_AG_MAX_BLOCKS:
                agsize += 1
        if sunit and agsize % sunit:
            agsize = -(-agsize // sunit) * sunit
        agcount = -(-dblocks // agsize)
        if dblocks % agsize and dblocks % agsize < XFS_AG_MIN_BLOCKS:
            dblocks -= dblocks % agsize
            agcount -= 1
        log = min(max(16384, dblocks // 2048), XFS_MAX_LOG_BLOCKS)
        if sunit:
            log = -(-log // sunit) * sunit
        return cls(agcount, agsize, dblocks, log, sunit)

    def log_start(self) -> int:
        return (self.agcount // 2) * self.agsize * 4096 + 64 * 4096

    def meta(self) -> list[list[int]]:
        """AG headers and btree roots in every AG, the root inode chunk, and the whole log."""
        regions = [[ag * self.agsize * 4096, 8 * 4096] for ag in range(self.agcount)]
        regions.append([8 * 4096, 32 * 1024])
        regions.append([self.log_start(), self.log * 4096])
        return sorted(regions)


def stripe_unit(state: State, dev: Device) -> int:
    """The stripe unit in 4 KiB blocks mkfs.xfs reads from the topology: a thin LV's chunk size."""
    if dev.lv is None:
        return 0
    vg = state.vgs[dev.lv[0]]
    lv = vg.lvs[dev.lv[1]]
    pool = vg.lvs.get(lv.pool) if lv.kind == LVKind.THIN else None
    return pool.chunk_size // 4096 if pool and pool.chunk_size > 4096 else 0


def xfs_report(name: str, geo: XfsGeometry) -> str:
    imaxpct = 25 if geo.blocks * 4096 < TiB else 5 if geo.blocks * 4096 < 50 * TiB else 1
    blank = ""
    return (
        f"meta-data={name:<22} isize={512:<6} agcount={geo.agcount}, agsize={geo.agsize} blks\n"
        f"         ={blank:<22} sectsz={512:<5} attr=2, projid32bit=1\n"
        f"         ={blank:<22} crc={1:<8} finobt=1, sparse=1, rmapbt=0\n"
        f"         ={blank:<22} reflink={1:<4} bigtime=1 inobtcount=1 nrext64=0\n"
        f"data     ={blank:<22} bsize={4096:<6} blocks={geo.blocks}, imaxpct={imaxpct}\n"
        f"         ={blank:<22} sunit={geo.sunit:<6} swidth={geo.sunit} blks\n"
        f"naming   =version {2:<14} bsize={4096:<6} ascii-ci=0, ftype=1\n"
        f"log      ={'internal log':<22} bsize={4096:<6} blocks={geo.log}, version=2\n"
        f"         ={blank:<22} sectsz={512:<5} sunit={geo.sunit} blks, lazy-count=1\n"
        f"realtime ={'none':<22} extsz={4096:<6} blocks=0, rtextents=0\n"
    )


@command(RawSpec("mkfs.xfs"))
def mkfs_xfs(ctx: Ctx) -> int:
    state = ctx.state
    opts, pos = parse_options(ctx, "mkfs.xfs", "b:c:d:fi:KL:l:m:n:Np:qr:s:CV", XFS_USAGE)
    flags = dict(opts)
    if "V" in flags:
        ctx.console.raw_out("mkfs.xfs version 6.1.0\n")
        return 0
    label = flags.get("L", "")
    if len(label) > 12:
        raise fail(f"Invalid value {label} for -L option\n{XFS_USAGE}".rstrip("\n"), 1)
    if len(pos) != 1:
        raise fail(("No device name specified\n" if not pos else "") + XFS_USAGE.rstrip("\n"), 1)
    dev = devmap.resolve(state, pos[0])
    if dev is None:
        raise fail(
            f"Error accessing specified device {pos[0]}: No such file or directory\n{XFS_USAGE}".rstrip("\n"),
            1,
        )
    if _mounted(state, dev):
        raise fail(f"mkfs.xfs: {pos[0]} contains a mounted filesystem\n{XFS_USAGE}".rstrip("\n"), 1)
    if "f" not in flags:
        found = fsimage.probe(state, dev)
        other = _other_signature(state, dev)
        if found or other == "LVM2_member":
            raise fail(
                f"mkfs.xfs: {pos[0]} appears to contain an existing filesystem ({found.type if found else other}).\n"
                "mkfs.xfs: Use the -f option to force overwrite.",
                1,
            )
        if other:
            raise fail(
                f"mkfs.xfs: {pos[0]} appears to contain a partition table ({other}).\n"
                "mkfs.xfs: Use the -f option to force overwrite.",
                1,
            )
    if dev.size < 300 * MiB:
        raise fail(f"Filesystem must be larger than 300MB.\n{XFS_USAGE}".rstrip("\n"), 1)
    sunit = stripe_unit(state, dev)
    if sunit and dev.size < GiB:  # xfsprogs ignores a device's stripe geometry under 1 GiB
        ctx.console.raw_err(
            f"mkfs.xfs: small data volume, ignoring data volume stripe unit {sunit * 8} and stripe width {sunit * 8}\n"
        )
        sunit = 0
    geo = XfsGeometry.for_size(dev.size, sunit)
    if geo.log > geo.agsize - 64:
        raise fail(f"Log size must be at least 64MB.\n{XFS_USAGE}".rstrip("\n"), 1)
    if "N" in flags:
        ctx.console.raw_out(xfs_report(pos[0], geo))
        return 0
    uuid = fs_uuid(state)
    sb = {
        "type": "xfs",
        "uuid": uuid,
        "label": label,
        "block_size": 4096,
        "agcount": geo.agcount,
        "log": [geo.log_start(), geo.log * 4096],
    }
    root = {"t": "d", "mode": 0o755, "uid": 0, "gid": 0, "mtime": int(state.clock * 1e9)}
    sized = Device(dev.path, dev.base, dev.offset, geo.blocks * 4096, dev.name, dev.lv)
    try:
        fsimage.make(state, sized, sb, geo.meta(), {".": root}, "K" not in flags)
        # like xfsprogs, zero the device's last 128 KiB (old MD and other superblocks)
        fsimage.write_at(state, dev, dev.size - XFS_WHACK_SIZE, content.zeros(XFS_WHACK_SIZE))
    except (OSError, fsimage.NoSpace) as exc:
        # xfsprogs zeroes the log with libxfs_device_zero, and writes the rest with pwrite [VM]
        log = isinstance(exc, fsimage.RegionWriteError) and exc.region == sb["log"]
        raise fail(
            f"mkfs.xfs: {'libxfs_device_zero write' if log else 'pwrite'} failed: {_reason(exc)}", 1
        ) from None
    if "q" not in flags:
        ctx.console.raw_out(xfs_report(pos[0], geo))
    return 0


# ---------------------------------------------------------------------------------------------
# mount / umount


def _mount_error(target: str, text: str) -> LvmError:
    return fail(f"mount: {target}: {text}\n{DMESG}", 32)


def _wrong_fs(target: str, source: str) -> LvmError:
    return _mount_error(
        target,
        f"wrong fs type, bad option, bad superblock on {source}, missing codepage or helper program, "
        "or other error.",
    )


def _list_mounts(ctx: Ctx) -> int:
    for m in fsimage.mounts(ctx.state):
        mode = "ro" if m["ro"] else "rw"
        extra = ",attr2,inode64,logbufs=8,logbsize=32k,noquota" if m["type"] == "xfs" else ""
        ctx.console.raw_out(f"{m['source']} on {m['target']} type {m['type']} ({mode},relatime{extra})\n")
    return 0


@command(RawSpec("mount"))
def mount(ctx: Ctx) -> int:
    state = ctx.state
    opts, pos = parse_options(ctx, "mount", "aBcfFhilL:Mno:O:rRsS:t:T:U:vVw")
    verbose = any(o == "v" for o, _ in opts)
    fstype = next((v for o, v in reversed(opts) if o == "t"), "auto")
    options: list[str] = []
    for o, v in opts:
        if o == "o":
            options += [x for x in v.split(",") if x]
        elif o in "rw":
            options.append("ro" if o == "r" else "rw")
    if not pos:
        return _list_mounts(ctx)
    if len(pos) == 1:
        raise fail(f"mount: {os.path.abspath(pos[0])}: can't find in /etc/fstab.", 1)
    source, target = pos[0], os.path.realpath(host_file("mount", pos[1]))
    if not os.path.isdir(target):
        raise _mount_error(
            target,
            "mount point does not exist."
            if not os.path.exists(target)
            else "mount point is not a directory.",
        )
    dev = devmap.resolve(state, source)
    if dev is None:
        raise _mount_error(target, f"special device {source} does not exist.")
    shown = dev.path
    if any(m["target"] == target and _same(state, m, dev) for m in fsimage.mounts(state)):
        raise _mount_error(target, f"{shown} already mounted on {target}.")
    try:
        fsimage.read_at(state, dev, fsimage.SB_OFFSET, fsimage.SB_SIZE)
    except OSError:
        # a device that fails reads (an invalid snapshot): with no type given and none probed before it
        # failed, mount tries every type and each says EINVAL; otherwise the filesystem's read fails (EIO)
        if fstype == "auto" and fsimage.probe_before_failure(state, dev) is None:
            raise _wrong_fs(target, shown) from None
        raise _mount_error(target, f"can't read superblock on {shown}.") from None
    found = fsimage.probe(state, dev)
    ro = "rw" not in options[options.index("ro") :] if "ro" in options else False
    if found is None or fstype not in ("auto", found.type):
        raise _wrong_fs(target, shown)
    allowed = MOUNT_OPTIONS | FS_OPTIONS.get(found.type, set())
    if any(o not in allowed and not o.startswith(("context=", "uid=", "gid=", "mode=")) for o in options):
        raise _wrong_fs(target, shown)
    nouuid = "nouuid" in options
    if found.type == "xfs" and not nouuid:
        for m in fsimage.mounts(state):
            if m["type"] == "xfs" and m["uuid"] == found.uuid and not m["nouuid"]:
                raise _wrong_fs(target, shown)
    lv = devmap.lv_of(state, dev)
    if not ro and lv is not None and not lv.writable:
        ctx.console.raw_err(f"mount: {target}: WARNING: source write-protected, mounted read-only.\n")
        ro = True
    record = {
        "source": shown,
        "name": dev.name,
        "target": target,
        "type": found.type,
        "uuid": found.uuid,
        "ro": ro,
        "nouuid": nouuid,
        "frozen": False,
        "discard": "discard" in options,
        "lv_uuid": lv.uuid if dev.lv and lv is not None else "",
    }
    _fill_mount_point(ctx, found, record, shown)
    if not ro:
        found.sb["clean"] = False
        fsimage.write_super(state, found)
    if dev.lv and lv is not None:
        lv.open_count += 1
    if verbose:
        ctx.console.raw_out(f"mount: {shown} mounted on {target}.\n")
    return 0


def _fill_mount_point(ctx: Ctx, found: fsimage.Filesystem, record: dict[str, Any], shown: str) -> None:
    """Put the mount on record (saved at once, so that a killed mount can still be unmounted), then
    write the filesystem's tree into the mount point, which must be empty: lvsim cannot hide what a
    directory holds the way a kernel mount does, and never moves a user's files aside."""
    target = record["target"]
    try:
        found.tree(ctx.state)
    except fsimage.Corrupt:
        raise _wrong_fs(target, shown) from None
    try:
        root = hosttree.open_mount_point(target, None)
    except hosttree.Moved:
        raise _mount_error(target, "mount point is not a directory.") from None
    try:
        if not hosttree.is_empty(root):
            raise fail(
                f"lvsim: mount: {target} is not empty: mounting over files (which a mount hides) is not "
                "emulated; mount on an empty directory",
                NOT_EMULATED,
            )
        record["ident"] = list(hosttree.identify_fd(root))
        record["filling"] = True
        mounts = fsimage.mounts(ctx.state)
        mounts.append(record)
        store.checkpoint(ctx.state)
        try:
            fsimage.materialise(ctx.state, found, root)
        except (OSError, fsimage.DeviceReadError) as exc:
            with contextlib.suppress(OSError):
                hosttree.remove_contents(root)
            mounts.remove(record)
            if isinstance(exc, fsimage.DeviceReadError):
                raise _mount_error(target, f"can't read superblock on {shown}.") from None
            raise fail(
                f"lvsim: mount: cannot write the filesystem's files into {target}: {exc.strerror}", 32
            ) from None
        del record["filling"]
    finally:
        os.close(root)


def find_mount(state: State, arg: str, prog: str) -> dict[str, Any] | None:
    """The mount a umount/fstrim/fsfreeze argument names: its mount point or its device."""
    target = os.path.realpath(host_file(prog, arg))
    for m in reversed(fsimage.mounts(state)):
        if m["target"] == target:
            return m
    dev = devmap.resolve(state, arg)
    if dev is not None:
        return next((m for m in reversed(fsimage.mounts(state)) if _same(state, m, dev)), None)
    return None


def unmount(state: State, m: dict[str, Any]) -> bool:
    """Capture a read-write mount back into its device, mark it clean, empty the mount point and drop
    the mount.  False (nothing written back, no file touched) when the mount point is no longer the
    directory that was mounted.  Files lvsim cannot write back as the kernel would are
    `fsimage.write_back`'s refusal, with the mount and its files left in place."""
    dev = fsimage.mount_device(state, m)
    found = fsimage.probe(state, dev) if dev else None
    try:
        root = fsimage.open_mount(m)
    except hosttree.Moved:
        _drop(state, m, dev)
        return False
    try:
        if not m["ro"] and not m.get("filling") and found is not None:
            fsimage.write_back(state, m, found, root)
            with contextlib.suppress(OSError):  # a device that fails: as on LVM, the log stays dirty
                found.sb["clean"] = True
                fsimage.write_super(state, found)
        _drop(state, m, dev)
        hosttree.remove_contents(root)
    finally:
        os.close(root)
    return True


def _drop(state: State, m: dict[str, Any], dev: Device | None) -> None:
    """Take a mount off the record, and its hold on its LV."""
    fsimage.mounts(state).remove(m)
    lv = devmap.lv_of(state, dev) if dev else None
    if dev is not None and dev.lv and lv is not None:
        lv.open_count = max(0, lv.open_count - 1)


@command(RawSpec("umount"))
def umount(ctx: Ctx) -> int:
    opts, pos = parse_options(ctx, "umount", "aAcdfhilnO:qrRt:vV")
    if not pos:
        raise fail(
            "Usage:\n umount [-hV]\n umount -a [options]\n umount [options] <source> | <directory>\n"
            "\nUnmount filesystems.\n\nFor more details see umount(8).",
            1,
        )
    verbose = any(o == "v" for o, _ in opts)
    rc = 0
    for arg in pos:
        m = find_mount(ctx.state, arg, "umount")
        if m is None:
            what = (
                "not mounted."
                if os.path.exists(host_file("umount", arg)) or devmap.resolve(ctx.state, arg)
                else "no mount point specified."
            )
            ctx.console.raw_err(f"umount: {arg}: {what}\n")
            rc = 32
            continue
        if m.get("stash"):  # an older lvsim moved the mount point's files aside
            ctx.console.raw_err(
                f"lvsim: umount: what {m['target']} held before the mount is in {m['stash']}\n"
            )
        try:
            unmounted = unmount(ctx.state, m)
        except LvmError as exc:  # files lvsim cannot write back: the mount stays
            ctx.console.raw_err(exc.raw + "\n")
            rc = exc.rc
            continue
        if not unmounted:
            ctx.console.raw_err(
                f"lvsim: umount: {m['target']} is no longer the directory that was mounted (moved or "
                "replaced): the mount is dropped, nothing was written back and no file was touched\n"
            )
            rc = NOT_EMULATED
            continue
        if verbose:
            ctx.console.raw_err(f"umount: {m['target']} ({m['source']}) unmounted\n")
    return rc


# ---------------------------------------------------------------------------------------------
# xfs_repair

# Blocks at the start of each AG that xfs_repair's phase 5 writes: the header block (sb, agf, agi,
# agfl) and the btree roots of mkfs.xfs 6.1's defaults (bno, cnt, ino, fino, refcount) [VM: a 100 MiB
# snapshot of a 320 MiB XFS is 64.35% used after xfs_repair -L, its 64 MiB log and 24 blocks]
REPAIR_AG_BLOCKS = 6

REPAIR_PHASES = """        - scan filesystem freespace and inode maps...
{clearing}        - found root inode chunk
Phase 3 - for each AG...
        - scan and clear agi unlinked lists...
        - process known inodes and perform inode discovery...
{agnos}        - process newly discovered inodes...
Phase 4 - check for duplicate blocks...
        - setting up duplicate extent list...
        - check for inodes claiming duplicate blocks...
{agnos}Phase 5 - rebuild AG headers and trees...
        - reset superblock...
Phase 6 - check inode connectivity...
        - resetting contents of realtime bitmap and summary inodes
        - traversing filesystem ...
        - traversal finished ...
        - moving disconnected inodes to lost+found ...
Phase 7 - verify and correct link counts...
{lsn}done
"""


@command(RawSpec("xfs_repair"))
def xfs_repair(ctx: Ctx) -> int:
    state, err = ctx.state, ctx.console.raw_err
    opts, pos = parse_options(ctx, "xfs_repair", "c:dfl:LPm:no:r:t:vVe", XFS_REPAIR_USAGE)
    flags = dict(opts)
    if "V" in flags:
        ctx.console.raw_out("xfs_repair version 6.1.0\n")
        return 0
    if len(pos) != 1:
        raise fail(XFS_REPAIR_USAGE, 1)
    dev = devmap.resolve(state, pos[0])
    if dev is None:
        raise fail(
            f"{pos[0]}: No such file or directory\n" * 2 + "\nfatal error -- couldn't initialize XFS library",
            1,
        )
    m = _mounted(state, dev)
    if m is not None:
        lines = [] if "n" in flags else [f"xfs_repair: {pos[0]} contains a mounted filesystem"]
        if not m["ro"]:
            lines.append(f"xfs_repair: {pos[0]} contains a mounted and writable filesystem")
        raise fail("\n".join(lines) + "\n\nfatal error -- couldn't initialize XFS library", 1)
    found = fsimage.probe(state, dev)
    err("Phase 1 - find and verify superblock...\n")
    if found is None or found.type != "xfs":
        raise fail(
            "bad primary superblock - bad magic number !!!\n\nattempting to find secondary superblock...\n"
            + "." * max(1, dev.size // (4 * MiB) // 8)
            + "Sorry, could not find valid secondary superblock\n"
            "Exiting now.",
            1,
        )
    err("Phase 2 - using internal log\n        - zero log...\n")
    dirty = not found.sb["clean"]
    zero = "L" in flags
    if dirty and not zero:
        raise fail(
            "ERROR: The filesystem has valuable metadata changes in a log which needs to\n"
            "be replayed.  Mount the filesystem to replay the log, and unmount it before\n"
            "re-running xfs_repair.  If you are unable to mount the filesystem, then use\n"
            "the -L option to destroy the log and attempt a repair.\n"
            "Note that destroying the log may cause corruption -- please attempt a mount\n"
            "of the filesystem before doing this.",
            2,
        )
    if dirty:
        err(
            "ALERT: The filesystem has valuable metadata changes in a log which is being\n"
            "destroyed because the -L option was used.\n"
        )
    if zero:
        try:
            fsimage.fill(state, dev, *found.sb["log"])
        except (OSError, fsimage.NoSpace) as exc:  # a snapshot overflowing, a full thin pool [VM]
            raise fail(f"xfs_repair: libxfs_device_zero write failed: {_reason(exc)}", 1) from None
    agnos = "".join(f"        - agno = {n}\n" for n in range(found.sb["agcount"]))
    err(
        REPAIR_PHASES.format(
            clearing="clearing needsrepair flag and regenerating metadata\n" if zero else "",
            agnos=agnos,
            lsn="Maximum metadata LSN (1:2) is ahead of log (1:2).\nFormat log to cycle 4.\n"
            if zero and dirty
            else "",
        )
    )
    with contextlib.suppress(OSError):  # a snapshot that overflows here is invalid afterwards
        for start in _ag_starts(found):  # phase 5 rewrites every AG's header block and btree roots
            fsimage.fill(state, dev, start, REPAIR_AG_BLOCKS * 4096)
        found.sb["clean"] = True
        fsimage.write_super(state, found)
    return 0


def _ag_starts(found: fsimage.Filesystem) -> list[int]:
    """Where each AG begins: the AG header regions of XfsGeometry.meta (8 blocks at each AG's start;
    the root inode chunk, also 8 blocks, sits at block 8 of AG 0)."""
    return [offset for offset, length in found.sb["meta"] if length == 8 * 4096 and offset != 8 * 4096]


# ---------------------------------------------------------------------------------------------
# xfs_freeze, fsfreeze, fstrim


def _freeze(ctx: Ctx, prog: str, xfs_only: bool) -> int:
    opts, pos = parse_options(ctx, prog, "fuhV", "")
    modes = [o for o, _ in opts if o in "fu"]
    if len(modes) != 1 or len(pos) != 1:
        usage = (
            f"Usage: {prog} [-f | -u] <mountpoint>"
            if xfs_only
            else "fsfreeze: neither --freeze or --unfreeze specified\nTry 'fsfreeze --help' for more information."
        )
        raise fail(usage, 1)
    arg = pos[0]
    real = host_file(prog, arg)
    if not os.path.exists(real):
        raise fail(
            f"{prog}: cannot open {arg}: No such file or directory"
            if not xfs_only
            else f"{prog}: cannot find mount point. {arg}",
            1,
        )
    m = find_mount(ctx.state, arg, prog)
    if xfs_only and (m is None or m["type"] != "xfs"):
        raise fail(f'xfs_freeze: specified file ["{arg}"] is not on an XFS filesystem', 1)
    freeze = modes[0] == "f"
    if m is None or m["frozen"] == freeze:
        what = "freeze" if freeze else "unfreeze"
        if xfs_only:
            raise fail(
                f"xfs_freeze: cannot {what} filesystem mounted at {arg}: "
                f"{'Device or resource busy' if freeze else 'Invalid argument'}",
                1,
            )
        reason = "Device or resource busy" if freeze and m is not None else "Invalid argument"
        raise fail(f"fsfreeze: {arg}: {what} failed: {reason}", 1)
    if freeze:
        fsimage.sync_mount(ctx.state, m)
    m["frozen"] = freeze
    return 0


@command(RawSpec("xfs_freeze"))
def xfs_freeze(ctx: Ctx) -> int:
    return _freeze(ctx, "xfs_freeze", True)


@command(RawSpec("fsfreeze"))
def fsfreeze(ctx: Ctx) -> int:
    return _freeze(ctx, "fsfreeze", False)


@command(RawSpec("fstrim"))
def fstrim(ctx: Ctx) -> int:
    state = ctx.state
    opts, pos = parse_options(ctx, "fstrim", "Aahl:m:no:vV")
    if len(pos) != 1:
        raise fail("fstrim: no mountpoint specified\nTry 'fstrim --help' for more information.", 1)
    arg = pos[0]
    real = host_file("fstrim", arg)
    if not os.path.exists(real):
        raise fail(f"fstrim: cannot open {arg}: No such file or directory", 1)
    m = find_mount(state, arg, "fstrim")
    if m is None or not os.path.isdir(real):
        raise fail(f"fstrim: {arg}: the discard operation is not supported", 1)
    fsimage.sync_mount(state, m)
    dev = fsimage.mount_device(state, m)
    found = fsimage.probe(state, dev) if dev else None
    if found is None or dev is None:
        raise fail(f"fstrim: {arg}: FITRIM ioctl failed: Input/output error", 1)
    if m["ro"]:
        raise fail(f"fstrim: {arg}: FITRIM ioctl failed: Operation not permitted", 1)
    total = 0
    if found.type != "ext4" or not found.sb.get("trimmed"):
        try:
            total = fsimage.trim(state, found)
        except OSError:
            raise fail(f"fstrim: {arg}: the discard operation is not supported", 1) from None
    if found.type == "ext4":
        found.sb["trimmed"] = True
        fsimage.write_super(state, found)
    if any(o == "v" for o, _ in opts):
        ctx.console.raw_out(f"{arg}: {human_size(total)} ({total} bytes) trimmed\n")
    return 0


# ---------------------------------------------------------------------------------------------
# blkid


def probe_tags(state: State, dev: Device) -> list[tuple[str, str]]:
    """The tags blkid prints for a device, in its order."""
    found = fsimage.probe(state, dev)
    if found is not None:
        tags = [("LABEL", found.label)] if found.label else []
        bs = "512" if found.type == "xfs" else str(found.sb["block_size"])
        return [*tags, ("UUID", found.uuid), ("BLOCK_SIZE", bs), ("TYPE", found.type)]
    pv = state.pvs.get(dev.base) if dev.offset == 0 and dev.base == dev.path else None
    if pv is not None:
        return [("UUID", pv.uuid), ("TYPE", "LVM2_member")]
    from lvsim.tools import partitions

    table = partitions.read_table(state, dev)
    if table:
        return [("PTUUID", f"{table['id']:08x}"), ("PTTYPE", "dos")]
    return []


def all_devices(state: State) -> list[Device]:
    """Every block device blkid would scan: disks, then dm devices by minor."""
    out = [d for d in (devmap.resolve(state, p) for p in sorted(state.disks)) if d]
    minors = devmap.dm_state(state)["minor"]
    for name in sorted(minors, key=lambda n: minors[n]):
        dev = devmap.resolve(state, f"/dev/mapper/{name}")
        if dev is not None:
            out.append(dev)
    return out


@command(RawSpec("blkid"))
def blkid(ctx: Ctx) -> int:
    state = ctx.state
    opts, pos = parse_options(ctx, "blkid", "c:dghilL:n:ko:O:ps:S:t:u:U:vVw:")
    fmt = next((v for o, v in reversed(opts) if o == "o"), "full")
    only = [v for o, v in opts if o == "s"]
    wanted = next(((o, v) for o, v in opts if o in "LU"), None)
    if pos:
        devices = [d for d in (devmap.resolve(state, p) for p in pos) if d]
        names = {id(d): p for d, p in zip(devices, [p for p in pos if devmap.resolve(state, p)], strict=True)}
    else:
        devices = all_devices(state)
        names = {id(d): d.path for d in devices}
    if wanted:
        key = "LABEL" if wanted[0] == "L" else "UUID"
        hit = next((d for d in all_devices(state) if (key, wanted[1]) in probe_tags(state, d)), None)
        if hit is None:
            return 2
        ctx.console.raw_out(hit.path + "\n")
        return 0
    rc = 2
    out = ctx.console.raw_out
    for dev in devices:
        tags = [(k, v) for k, v in probe_tags(state, dev) if not only or k in only]
        if not tags:
            continue
        rc = 0
        name = names[id(dev)]
        if fmt == "value":
            out("".join(f"{v}\n" for _, v in tags))
        elif fmt == "export":
            out(
                f"DEVNAME={name}\n"
                + "".join(f"{k}={v}\n" for k, v in tags)
                + ("\n" if len(devices) > 1 else "")
            )
        elif fmt == "device":
            out(name + "\n")
        else:
            out(f"{name}: " + " ".join(f'{k}="{v}"' for k, v in tags) + "\n")
    return rc


# ---------------------------------------------------------------------------------------------
# rsync: the host's own, on the mount points the shim materialised, for local copies only

# Options passed on to the host's rsync: local copies of the trees named on the command line.  Anything
# else (a remote shell or host, files that name more files, logs, batches, other destinations, options
# that follow links out of the trees) is refused as not emulated.
RSYNC_SHORT = set("aqvrlptgoDHAXSzcnxhiPumdRWIO")
RSYNC_LONG = {
    "archive",
    "quiet",
    "verbose",
    "recursive",
    "links",
    "perms",
    "times",
    "group",
    "owner",
    "devices",
    "specials",
    "hard-links",
    "acls",
    "xattrs",
    "sparse",
    "compress",
    "checksum",
    "dry-run",
    "one-file-system",
    "human-readable",
    "itemize-changes",
    "partial",
    "progress",
    "update",
    "delete",
    "delete-before",
    "delete-during",
    "delete-after",
    "delete-delay",
    "delete-excluded",
    "numeric-ids",
    "stats",
    "inplace",
    "whole-file",
    "relative",
    "no-relative",
    "existing",
    "ignore-existing",
    "ignore-times",
    "size-only",
    "dirs",
    "omit-dir-times",
    "no-perms",
    "no-owner",
    "no-group",
    "no-times",
    "safe-links",
    "force",
    "prune-empty-dirs",
    "append",
    "append-verify",
    "no-whole-file",
    "no-inc-recursive",
    "mkpath",
    "no-implied-dirs",
    "executability",
    "8-bit-output",
}
RSYNC_VALUED = {
    "exclude",
    "include",
    "chmod",
    "timeout",
    "bwlimit",
    "max-size",
    "min-size",
    "modify-window",
    "out-format",
    "info",
    "debug",
    "max-delete",
    "contimeout",
    "compress-level",
    "block-size",
}


def rsync_paths(argv: list[str]) -> tuple[list[str], list[int]]:
    """The argv checked against what lvsim passes on, and the indexes of its paths; LvmError else."""

    def refuse(what: str) -> LvmError:
        return fail(f"lvsim: rsync {what} is not emulated (lvsim runs local copies only)", NOT_EMULATED)

    paths: list[int] = []
    options_done = False
    for i, word in enumerate(argv):
        if options_done or not word.startswith("-") or word == "-":
            if word.startswith("rsync://") or "::" in word or ":" in word.split("/", 1)[0]:
                raise refuse(f"to or from another host ({word})")
            paths.append(i)
        elif word == "--":
            options_done = True
        elif word.startswith("--"):
            name, eq, _ = word[2:].partition("=")
            if name not in RSYNC_LONG | RSYNC_VALUED or (name in RSYNC_VALUED) != bool(eq):
                raise refuse(f"option --{name}")
        elif not set(word[1:]) <= RSYNC_SHORT:
            raise refuse(f"option -{''.join(sorted(set(word[1:]) - RSYNC_SHORT))}")
    return argv, paths


@command(RawSpec("rsync"))
def rsync(ctx: Ctx) -> int:
    """Run the host's rsync on local trees (mounts were just written back by the emulator, so trees
    are current); every path must be one the running scenario may touch."""
    argv, paths = rsync_paths(c_argv(ctx))
    argv = [host_file("rsync", w) if i in paths else w for i, w in enumerate(argv)]
    real = next(
        (p for p in ("/usr/bin/rsync", "/bin/rsync", "/usr/local/bin/rsync") if os.access(p, os.X_OK)), None
    )
    if real is None:
        raise fail("rsync: command not found", 127)
    done = subprocess.run(
        [real, *argv],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        check=False,
        stdin=subprocess.DEVNULL,
    )
    ctx.console.raw_out(done.stdout)
    ctx.console.raw_err(done.stderr)
    return done.returncode
