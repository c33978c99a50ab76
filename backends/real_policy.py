"""What RealBackend lets a command line touch on the host.

RealBackend runs real LVM and device tools as root, so before a command runs it is checked here:

* only the programs lvsim simulates run (LVM's, dd, blkdiscard, mkfs, mount, ..., see `PROGRAMS`);
* every device a command names (`/dev/...`, also inside `if=`/`of=` and `--opt=` words, a dm name
  for dmsetup, a device-mapper table's devices) must be one of the backend's own: its loop devices
  (known by their backing files), their partitions, the device-mapper devices stacked only on them,
  or a node of one of its VGs; the kernel's pseudo devices (/dev/zero, /dev/null, ...) are fine;
* `--config` may not set what decides which devices LVM sees (`devices/filter`, `global_filter`,
  `scan`, `dir`, `use_devicesfile`, `devicesfile`), and `--devices`/`--devicesfile` are refused: they
  would widen the device filter that confines LVM to the backend's loops (other `devices` settings,
  such as OpenStack's `ignore_suspended_devices`, are LVM's business);
* `umount` only unmounts filesystems on the backend's devices; `losetup` only attaches files inside
  the backend's work directory;
* a new VG may not take the name of a VG the host has, of a /dev entry, or of a VG whose
  device-mapper devices are active (device-mapper names are one namespace per machine).

`refusal()` returns the message of the first rule a command line breaks, or "".
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

PSEUDO_DEVICES = {"/dev/zero", "/dev/null", "/dev/urandom", "/dev/random", "/dev/full", "/dev/stdin",
                  "/dev/stdout", "/dev/stderr"}  # fmt: skip
LVM_PROGRAMS = {
    "lvm", "pvcreate", "pvremove", "pvchange", "pvs", "pvscan", "pvdisplay", "pvmove", "pvresize", "pvck",
    "vgcreate", "vgextend", "vgreduce", "vgremove", "vgchange", "vgs", "vgscan", "vgdisplay", "vgrename",
    "vgcfgbackup", "vgcfgrestore", "vgck", "vgconvert", "vgexport", "vgimport", "vgmerge", "vgsplit",
    "vgmknodes", "lvcreate", "lvextend", "lvreduce", "lvresize", "lvremove", "lvrename", "lvchange",
    "lvconvert", "lvs", "lvscan", "lvdisplay", "lvmconfig", "lvmdiskscan", "lvmsadc", "lvmsar",
}  # fmt: skip
# the tools lvsim simulates (lvsim.dispatch.COMMAND_HOMES; tests/test_real_policy.py keeps them in step)
TOOLS = {"dd", "blkdiscard", "mkfs.ext4", "mkfs.xfs", "mount", "umount", "xfs_repair", "xfs_freeze",
         "fsfreeze", "fstrim", "blkid", "rsync", "sfdisk", "kpartx", "dmsetup", "losetup", "cat",
         "mountpoint", "findmnt"}  # fmt: skip
PROGRAMS = LVM_PROGRAMS | TOOLS
# dmsetup subcommands that change a device (their NAME must be the backend's own)
DMSETUP_CHANGES = {"create", "remove", "rename", "suspend", "resume", "load", "reload", "clear", "message",
                   "wipe_table", "setgeometry", "remove_all", "mangle", "udevcomplete_all"}  # fmt: skip
_VG_NAME = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]*")
# devices/ settings that decide which devices LVM sees (a word boundary: `scan_lvs`, `backup_dir` differ)
_DEVICE_SETTINGS = re.compile(r"filter|devicesfile|\bscan\b|\bdir\b", re.I)


@dataclass
class Owned:
    """What belongs to one RealBackend: block names (loop3, loop3p1, dm-4), dm names, VGs, its work dir."""

    blocks: set[str] = field(default_factory=set)
    dm_names: set[str] = field(default_factory=set)
    vgs: set[str] = field(default_factory=set)
    workdir: str = ""
    block_of: Callable[[str], str] = lambda path: ""  # a /dev path's block name ("" if none)
    devnum_of_block: Callable[[str], str] = lambda block: ""  # "7:3" of a block name
    host_dm_names: Callable[[], set[str]] = lambda: set()  # every device-mapper name on the machine now

    def device(self, path: str) -> bool:
        """Whether a /dev path is a pseudo device or one of this backend's devices (or could become a
        node of one of its VGs)."""
        if path in PSEUDO_DEVICES or path.startswith("/dev/fd/"):
            return True
        block = self.block_of(path)
        if block:
            return block in self.blocks or any(
                block.startswith(b + "p") and block[len(b) + 1 :].isdigit() for b in self.blocks
            )
        parts = os.path.normpath(path).split("/")  # not a device (yet): /dev/VG/... or /dev/mapper/VG-...
        if len(parts) >= 3 and parts[2] in self.vgs:
            return True
        return (
            len(parts) == 4 and parts[2] == "mapper" and any(parts[3].startswith(_dm_vg(v)) for v in self.vgs)
        )

    def devnum(self, text: str) -> bool:
        return any(self.devnum_of_block(b) == text for b in self.blocks)


def _dm_vg(vg: str) -> str:
    return vg.replace("-", "--") + "-"


def _program(argv: Sequence[str]) -> str:
    return os.path.basename(argv[0]) if argv else ""


def _device_words(argv: Sequence[str]) -> list[str]:
    """/dev paths a command line names: words, `key=value` operands and `--opt=value` options."""
    found = []
    for word in argv[1:]:
        value = word.split("=", 1)[1] if "=" in word and not word.startswith("/") else word
        if value.startswith("/dev/"):
            found.append(value)
    return found


def refusal(
    argv: Sequence[str], owned: Owned, host_vgs: Callable[[], Collection[str]], stdin: str = ""
) -> str:
    """Why a command line may not run on this RealBackend ("" if it may); host_vgs is asked only for
    a command that names a new VG."""
    program = _program(argv)
    if program not in PROGRAMS:
        return f"the real backend runs only LVM and the tools lvsim simulates, not {program or 'nothing'}"
    words = list(argv[1:])
    if program in LVM_PROGRAMS:  # LVM sees only the backend's loops (its filter): devices are its business
        problem = _lvm_options(words)
        if problem:
            return problem
        command = words[0] if program == "lvm" and words else program
        if command in ("vgcreate", "vgrename"):
            name = _new_vg_name(command, words[1:] if program == "lvm" else words)
            if _VG_NAME.fullmatch(name) and name not in owned.vgs and name not in (".", ".."):
                if os.path.exists(f"/dev/{name}") or name in host_vgs():
                    return f"VG name {name} is taken on this host: a real-backend VG must not share it"
        return ""
    for path in _device_words(argv):
        if not owned.device(path):
            return f"{path} is not a device of this real backend"
    if program == "dmsetup":
        return _dmsetup(words, owned, stdin)
    if program == "umount":
        return _umount(words, owned)
    if program == "losetup":
        for word in words:
            if not word.startswith(("-", "/dev/")) and not _inside(os.path.realpath(word), owned.workdir):
                return f"losetup: {word} is not a file of this real backend's work directory"
    if program == "blkid" and not [w for w in words if not w.startswith("-")]:
        return "blkid without a device would probe every device of the host"
    if program == "rsync":
        from lvsim.core.errors import LvmError
        from lvsim.tools.filesystems import rsync_paths

        try:
            rsync_paths(words)
        except LvmError as exc:
            return exc.raw.removeprefix("lvsim: ")
    return ""


def _inside(path: str, directory: str) -> bool:
    return bool(directory) and (path == directory or path.startswith(directory.rstrip("/") + "/"))


def _lvm_options(words: Sequence[str]) -> str:
    for i, word in enumerate(words):
        name, _, value = word.partition("=")
        if name in ("--devices", "--devicesfile"):
            return f"{name} would widen the real backend's device filter"
        if name == "--config":
            text = value if "=" in word else (words[i + 1] if i + 1 < len(words) else "")
            if _DEVICE_SETTINGS.search(text):
                return "--config may not change which devices LVM sees on the real backend"
    return ""


def _new_vg_name(command: str, words: Sequence[str]) -> str:
    pos = [w for w in words if not w.startswith("-")]
    if command == "vgcreate":
        return pos[0] if pos else ""
    return pos[1] if len(pos) >= 2 else ""


def _dmsetup(words: Sequence[str], owned: Owned, stdin: str) -> str:
    pos = [w for w in words if not w.startswith("-")]
    if not pos or pos[0] not in DMSETUP_CHANGES:
        return ""
    if pos[0] in ("remove_all", "mangle", "udevcomplete_all"):
        return f"dmsetup {pos[0]} would touch every device-mapper device of the host"
    if pos[0] == "create":
        table = (
            " ".join(words[words.index("--table") + 1 : words.index("--table") + 2])
            if "--table" in words
            else ""
        )
        for token in (table + " " + stdin).split():
            if token.startswith("/dev/") and not owned.device(token):
                return f"the table names {token}, not a device of this real backend"
            if re.fullmatch(r"\d+:\d+", token) and not owned.devnum(token):
                return f"the table names device {token}, not one of this real backend"
        return ""
    names = pos[1:]
    existing = owned.host_dm_names() if names else set()
    for name in names:
        bare = name.removeprefix("/dev/mapper/")
        # a name no device has reaches dmsetup, which answers as on any host ("No such device or address")
        if bare not in owned.dm_names and bare in existing:
            return f"dmsetup {pos[0]} {name}: not a device-mapper device of this real backend"
    return ""


def _umount(words: Sequence[str], owned: Owned) -> str:
    if any(w in ("-a", "-A", "--all", "--all-targets") for w in words):
        return "umount -a would unmount the host's filesystems"
    from lvsim.tools.mountinfo import host_mountinfo

    mounts = host_mountinfo()
    for word in (w for w in words if not w.startswith("-")):
        if word.startswith("/dev/"):
            continue  # checked as a device
        target = os.path.realpath(word)
        devnums = [d for d, t, _ in mounts if t == target]
        if devnums and not any(owned.devnum(d) for d in devnums):
            return f"{word} is not a filesystem on a device of this real backend"
    return ""
