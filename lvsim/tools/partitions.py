"""Partitions: sfdisk (dos labels) and kpartx (partition mappings); dmsetup is in `lvsim.tools.dmsetup`.

The partition table is a real MBR in the device's first sector (written through the data
path, so snapshots carry it); kpartx maps and hand-removed LVM devices live in
``state.dm`` (see `lvsim.core.devmap`).  Texts: util-linux 2.38.1, multipath-tools 0.9.4,
device-mapper 1.02.185 (Debian 12).

LVM and hand-removed devices: after `dmsetup remove VG-SNAP` and `VG-SNAP-cow`, LVM 2.03.16's
`lvremove -f VG/SNAP` still succeeds with its usual message.  lv_remove_single asks the kernel
whether the snapshot is active (it is not: the devices are gone), and vg_remove_snapshot then
reloads the origin without the snapshot (dropping VG-ORIGIN-real) and deactivates the COW LV,
which for absent devices is a no-op.  So nothing here hooks lvremove: `devmap.refresh` just
forgets the hand-removals once the LV is gone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from typing import Any

from lvsim.core import devmap, fsimage
from lvsim.core.context import Ctx, RawSpec, command
from lvsim.core.devmap import DM_MAJOR, Device
from lvsim.core.model import SECTOR, LVKind, State
from lvsim.core.partition_table import read_table, write_table
from lvsim.tools.losetup import attach
from lvsim.tools.toolkit import Usage, c_argv, fail, getopt, host_file, human_size

TYPES = {"L": 0x83, "S": 0x82, "E": 0x05, "X": 0x85, "U": 0xEF, "R": 0xFD, "V": 0x8E}
TYPE_NAMES = {
    0x83: "Linux",
    0x82: "Linux swap / Solaris",
    0x05: "Extended",
    0x85: "Linux extended",
    0x8E: "Linux LVM",
    0xFD: "Linux raid autodetect",
    0xEF: "EFI (FAT-12/16/32)",
    0x07: "HPFS/NTFS/exFAT",
    0x0C: "W95 FAT32 (LBA)",
    0x0B: "W95 FAT32",
}
GRAIN = 2048  # 1 MiB alignment, in sectors


# ---------------------------------------------------------------------------------------------
# sfdisk


def _size_1letter(nbytes: int) -> str:
    text = human_size(nbytes)
    number, unit = text.split(" ")
    return number + (unit[0] if unit != "B" else "B")


def part_name(device: str, n: int, maps: Collection[str] = ()) -> str:
    """fdisk_partname: 'p' after a trailing digit; for /dev/mapper names an existing kpartx map, else -partN."""
    if device.startswith("/dev/mapper/"):
        base = device[len("/dev/mapper/") :]
        for name in (f"{base}{n}", f"{base}p{n}"):
            if name in maps:
                return f"/dev/mapper/{name}"
        return f"{device}-part{n}"
    return f"{device}{'p' if device[-1:].isdigit() else ''}{n}"


def _table_text(device: str, parts: list[dict[str, Any]], maps: Collection[str]) -> str:
    rows = [
        [
            part_name(device, i + 1, maps),
            "*" if p["boot"] else "",
            str(p["start"]),
            str(p["start"] + p["size"] - 1),
            str(p["size"]),
            _size_1letter(p["size"] * SECTOR),
            f"{p['type']:x}",
            TYPE_NAMES.get(p["type"], "unknown"),
        ]
        for i, p in enumerate(parts)
        if p["size"]
    ]
    head = ["Device", "Boot", "Start", "End", "Sectors", "Size", "Id", "Type"]
    hints = [0, 0, 5, 5, 5, 5, 2, 0]  # libfdisk's column width hints
    widths = [max(hints[c], *(len(r[c]) for r in [head, *rows])) for c in range(len(head))]
    lines = []
    for row in [head, *rows]:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [row[c].rjust(widths[c]) for c in range(2, 7)]
        lines.append(" ".join([*cells, row[7]]).rstrip())
    return "\n".join(lines) + "\n"


def _io_size(state: State, dev: Device) -> int:
    if dev.lv is None:
        return SECTOR
    vg = state.vgs[dev.lv[0]]
    lv = vg.lvs[dev.lv[1]]
    pool = vg.lvs.get(lv.pool) if lv.kind == LVKind.THIN else None
    return pool.chunk_size if pool else SECTOR


def _parse_size(text: str) -> int:
    """A script size: sectors, or bytes with a K/M/G/T suffix (optionally 'iB'/'B')."""
    text = text.strip().lstrip("+")
    for i, unit in enumerate("KMGT"):
        for suffix in (f"{unit}iB", f"{unit}B", unit):
            if text.upper().endswith(suffix.upper()):
                return int(float(text[: -len(suffix)]) * 1024 ** (i + 1)) // SECTOR
    return int(text)


def _parse_line(line: str) -> dict[str, str]:
    """A partition line, named ("start=2048, size=10M, type=83") or positional ("2048,10M,L,*")."""
    if ":" in line and "=" in line:
        line = line.split(":", 1)[1]
    fields: dict[str, str] = {}
    if "=" in line:
        for item in line.replace(",", " ").split():
            key, _, value = item.partition("=")
            fields[key.strip()] = value.strip() if value else "yes"
        return fields
    values = [v.strip() for v in (line.split(",") if "," in line else line.split())]
    for key, value in zip(("start", "size", "type", "bootable"), values, strict=False):
        if value and value != "-":
            fields[key] = value
    return fields


@command(RawSpec("sfdisk"))
def sfdisk(ctx: Ctx) -> int:
    state = ctx.state
    args = c_argv(ctx)
    quiet = "-q" in args or "--quiet" in args
    out = (lambda _text: None) if quiet else ctx.console.raw_out
    listing = "-l" in args or "--list" in args
    tell_kernel = "--no-tell-kernel" not in args
    dump = "-d" in args or "--dump" in args
    devices = [a for a in args if not a.startswith("-")]
    if not devices:
        raise fail("sfdisk: no disk device specified\nTry 'sfdisk --help' for more information.", 1)
    device = devices[0]
    dev = devmap.resolve(state, device)
    if dev is None:
        raise fail(f"sfdisk: cannot open {device}: No such file or directory", 1)
    table = read_table(state, dev)
    maps = devmap.dm_state(state)["parts"].keys()
    if dump:
        if table is None:
            raise fail(f"sfdisk: {device}: does not contain a recognized partition table", 1)
        out(
            f"label: dos\nlabel-id: 0x{table['id']:08x}\ndevice: {device}\nunit: sectors\nsector-size: 512\n\n"
        )
        for i, p in enumerate(table["parts"]):
            if p["size"]:
                boot = ", bootable" if p["boot"] else ""
                out(
                    f"{part_name(device, i + 1, maps)} : start={p['start']:>12}, size={p['size']:>12}, type={p['type']:x}{boot}\n"
                )
        return 0
    sectors = dev.size // SECTOR
    io = _io_size(state, dev)
    header = (
        f"Disk {device}: {human_size(dev.size)}, {dev.size} bytes, {sectors} sectors\n"
        "Units: sectors of 1 * 512 = 512 bytes\n"
        "Sector size (logical/physical): 512 bytes / 512 bytes\n"
        f"I/O size (minimum/optimal): {io} bytes / {io} bytes\n"
    )
    old = ""
    if table is not None:
        old = f"Disklabel type: dos\nDisk identifier: 0x{table['id']:08x}\n"
    if listing:
        out(header + old)
        if table is not None:
            out("\n" + _table_text(device, table["parts"], maps))
        return 0
    if any(m for m in fsimage.mounts(state) if (d := fsimage.mount_device(state, m)) and d.base == dev.base):
        raise fail(
            "Checking that no-one is using this disk right now ... FAILED\n\n"
            "This disk is currently in use - repartitioning is probably a bad idea.\n"
            "Umount all file systems, and swapoff all swap partitions on this disk.\n"
            "Use the --no-reread flag to suppress this check.\n\n"
            "sfdisk: Use the --force flag to overrule all checks.",
            1,
        )
    out("Checking that no-one is using this disk right now ... OK\n\n" + header + old)
    if table is not None:
        out("\nOld situation:\n\n" + _table_text(device, table["parts"], maps))
    out("\n")
    state.counter += 1
    disk_id = int.from_bytes(hashlib.sha256(f"lvsim-disk-{state.counter}".encode()).digest()[:4], "little")
    parts: list[dict[str, Any]] = []
    created = False
    for raw_line in ctx.console.read_all().splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if (
            sep
            and "=" not in key
            and " " not in key.strip()
            and key.strip()
            in (
                "label",
                "label-id",
                "unit",
                "device",
                "first-lba",
                "last-lba",
                "sector-size",
                "grain",
                "table-length",
            )
        ):
            if key.strip() == "label-id":
                disk_id = int(value.strip(), 16)
            out(">>> Script header accepted.\n")
            continue
        if not created:
            out(f">>> Created a new DOS (MBR) disklabel with disk identifier 0x{disk_id:08x}.\n")
            created = True
        fields = _parse_line(line)
        last = parts[-1]["start"] + parts[-1]["size"] if parts else GRAIN
        try:
            start = _parse_size(fields["start"]) if fields.get("start") else -(-last // GRAIN) * GRAIN
            room = sectors - start
            size = _parse_size(fields["size"]) if fields.get("size", "+") != "+" else room
            ptype_text = fields.get("type", "L")
            ptype = TYPES.get(ptype_text.upper()) or int(ptype_text, 16)
        except ValueError:
            raise fail(
                f"sfdisk: {part_name(device, len(parts) + 1, maps)}: failed to parse script line", 1
            ) from None
        size = min(size, room)
        if len(parts) == 4 or size <= 0 or not 0 < ptype < 256:
            raise fail(
                f"sfdisk: {part_name(device, len(parts) + 1, maps)}: Failed to add #{len(parts) + 1} partition: "
                "Invalid argument",
                1,
            )
        boot = fields.get("bootable", "") in ("*", "yes", "bootable") or "bootable" in fields
        parts.append({"start": start, "size": size, "type": ptype, "boot": boot})
        name = TYPE_NAMES.get(ptype, "unknown")
        out(
            f"{part_name(device, len(parts), maps)}: Created a new partition {len(parts)} of type '{name}' "
            f"and of size {human_size(size * SECTOR)}.\n"
        )
    if not created:
        out(f">>> Created a new DOS (MBR) disklabel with disk identifier 0x{disk_id:08x}.\n")
    out(f"{part_name(device, len(parts) + 1, maps)}: Done.\n\n")
    out(f"New situation:\nDisklabel type: dos\nDisk identifier: 0x{disk_id:08x}\n")
    if any(p["size"] for p in parts):
        out("\n" + _table_text(device, parts, maps))
    fsimage.wipe_super(state, dev)
    write_table(
        state, dev, disk_id, parts + [{"start": 0, "size": 0, "type": 0, "boot": False}] * (4 - len(parts))
    )
    out("\nThe partition table has been altered.\n")
    if tell_kernel:
        if (dev.base.startswith("/dev/") and dev.base in state.disks) or dev.name:
            out("Calling ioctl() to re-read partition table.\n")
            ctx.console.raw_err("Re-reading the partition table failed.: Invalid argument\n")
            out(
                "The kernel still uses the old table. The new table will be used at the next reboot "
                "or after you run partprobe(8) or partx(8).\n"
            )
        out("Syncing disks.\n")
    return 0


# ---------------------------------------------------------------------------------------------
# kpartx


def _devt(state: State, dev: Device) -> str:
    if dev.name:
        return f"{DM_MAJOR}:{devmap.dm_state(state)['minor'].get(dev.name, 0)}"
    return f"7:{dev.path[len('/dev/loop') :]}" if dev.path.startswith("/dev/loop") else "8:0"


def _dm_uuid(state: State, dev: Device) -> str:
    if dev.name:
        return next((d.uuid for d in devmap.devices(state) if d.name == dev.name), "")
    return f"devnode_{_devt(state, dev)}_Wh5pYvM"


KPARTX_USAGE = """multipath-tools v0.9.4 (12/19, 2022)
Usage:
  kpartx [-a|-d|-u|-l] [-r] [-p] [-f] [-g] [-s|-n] [-v] wholedisk
\t-a add partition devmappings
\t-r devmappings will be readonly
\t-d del partition devmappings
\t-u update partition devmappings
\t-l list partitions devmappings that would be added by -a
\t-p set device name-partition number delimiter
\t-g force GUID partition table (GPT)
\t-f force devmap create
\t-v verbose
\t-n nosync mode. Return before the partitions are created
\t-s sync mode (Default). Don't return until the partitions are created
"""


@command(RawSpec("kpartx"))
def kpartx(ctx: Ctx) -> int:
    state, out = ctx.state, ctx.console.raw_out
    try:
        opts, pos = getopt("kpartx", c_argv(ctx), "rvfgdaulp:t:snV")
    except Usage:
        out(KPARTX_USAGE)
        return 1
    what = "list"
    delim: str | None = None
    for o, v in opts:
        what = {"a": "add", "d": "delete", "u": "add", "l": "list"}.get(o, what)
        if o == "p":
            delim = v
    verbose = any(o == "v" for o, _ in opts)
    if len(pos) != 1:
        out(KPARTX_USAGE)
        return 1
    device = pos[0]
    dev = devmap.resolve(state, device)
    if dev is None and os.path.isfile(host_file("kpartx", device)):
        if what == "delete":
            return 0
        device = attach(state, device)
        dev = devmap.resolve(state, device)
    if dev is None:
        out(f"failed to stat() {device}\n")
        return 1
    mapname = dev.name or os.path.basename(dev.path)
    if delim is None:
        delim = "p" if mapname[-1:].isdigit() else ""
    parts = devmap.dm_state(state)["parts"]
    parent_uuid = _dm_uuid(state, dev)
    lv = devmap.lv_of(state, dev)
    if what == "delete":
        for name in sorted(n for n, p in parts.items() if p["uuid"].split("-", 1)[1] == parent_uuid):
            if devmap.open_count(state, name):
                if verbose:
                    out(f"{name} is in use. Not removing\n")
                return 1
            del parts[name]
            if lv is not None and dev.lv:
                lv.open_count = max(0, lv.open_count - 1)
            if verbose:
                out(f"del devmap : {name}\n")
        return 0
    table = read_table(state, dev)
    if table is None:
        return 0
    devt = _devt(state, dev)
    for i, p in enumerate(table["parts"]):
        if not p["size"] or p["type"] in (0x05, 0x0F, 0x85):
            continue
        name = f"{mapname}{delim}{i + 1}"
        if what == "list":
            out(f"{name} : 0 {p['size']} {device} {p['start']}\n")
            continue
        existing = parts.get(name)
        uuid = f"part{i + 1}-{parent_uuid}"
        if existing is not None and existing["uuid"] != uuid:
            ctx.console.raw_err(f"{name} is already in use, and is not a kpartx partition\n")
            continue
        parts[name] = {
            "parent": dev.path,
            "parent_name": dev.name,
            "start": p["start"],
            "size": p["size"],
            "uuid": uuid,
            "ro": any(o == "r" for o, _ in opts),
        }
        if existing is None and lv is not None and dev.lv:
            lv.open_count += 1
        devmap.refresh(state)
        if verbose:
            minor = devmap.dm_state(state)["minor"][name]
            out(f"add map {name} ({DM_MAJOR}:{minor}): 0 {p['size']} linear {devt} {p['start']}\n")
    return 0
