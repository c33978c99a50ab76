"""Partitions and device-mapper: sfdisk (dos labels), kpartx and dmsetup ls/info/remove.

The partition table is a real MBR in the device's first sector (written through the data
path, so snapshots carry it); kpartx maps and hand-removed LVM devices live in
``state.extra["dm"]`` (see `lvsim.devmap`).  Texts: util-linux 2.38.1, multipath-tools 0.9.4,
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
import struct
from collections.abc import Collection
from typing import Any

from lvsim import devmap, fs
from lvsim.cmdline import CommandSpec
from lvsim.commands.fs import Usage, _fail, c_argv, getopt, human_size
from lvsim.commands.losetup import attach
from lvsim.devmap import DM_MAJOR, Device
from lvsim.emulator import Ctx, command
from lvsim.errors import LvmError
from lvsim.model import SECTOR, State

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
# The MBR


def read_table(state: State, dev: Device) -> dict[str, Any] | None:
    """The dos partition table on a device: {"id": disk id, "parts": [{start, size, type, boot}]}."""
    if dev.size < SECTOR:
        return None
    try:
        raw = fs.read_at(state, dev, 0, SECTOR)
    except OSError:
        return None
    if len(raw) < SECTOR or raw[510:512] != b"\x55\xaa":
        return None
    parts = []
    for i in range(4):
        entry = raw[446 + 16 * i : 462 + 16 * i]
        boot, ptype, start, size = entry[0], entry[4], *struct.unpack("<II", entry[8:16])
        parts.append({"start": start, "size": size, "type": ptype, "boot": boot == 0x80})
    return {"id": struct.unpack("<I", raw[440:444])[0], "parts": parts}


def write_table(state: State, dev: Device, disk_id: int, parts: list[dict[str, Any]]) -> None:
    raw = bytearray(SECTOR)
    raw[440:444] = struct.pack("<I", disk_id)
    for i, p in enumerate(parts):
        entry = bytes([0x80 if p["boot"] else 0, 0xFE, 0xFF, 0xFF, p["type"], 0xFE, 0xFF, 0xFF])
        raw[446 + 16 * i : 462 + 16 * i] = entry + struct.pack("<II", p["start"], p["size"])
    raw[510:512] = b"\x55\xaa"
    fs.write_at(state, dev, 0, bytes(raw))


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
    pool = vg.lvs.get(lv.pool) if lv.kind == "thin" else None
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


@command(CommandSpec("sfdisk", {}, raw=True))
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
        raise _fail("sfdisk: no disk device specified\nTry 'sfdisk --help' for more information.", 1)
    device = devices[0]
    dev = devmap.resolve(state, device)
    if dev is None:
        raise _fail(f"sfdisk: cannot open {device}: No such file or directory", 1)
    table = read_table(state, dev)
    maps = devmap.dm_state(state)["parts"].keys()
    if dump:
        if table is None:
            raise _fail(f"sfdisk: {device}: does not contain a recognized partition table", 1)
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
    if any(m for m in fs.mounts(state) if (d := fs.mount_device(state, m)) and d.base == dev.base):
        raise _fail(
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
            raise _fail(
                f"sfdisk: {part_name(device, len(parts) + 1, maps)}: failed to parse script line", 1
            ) from None
        size = min(size, room)
        if len(parts) == 4 or size <= 0 or not 0 < ptype < 256:
            raise _fail(
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
    fs.wipe_super(state, dev)
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


@command(CommandSpec("kpartx", {}, raw=True))
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
    if dev is None and os.path.isfile(device):
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


# ---------------------------------------------------------------------------------------------
# dmsetup


def _busy(name: str, reason: str) -> LvmError:
    return _fail(f"device-mapper: remove ioctl on {name}  failed: {reason}\nCommand failed.", 1)


def remove_device(state: State, name: str) -> None:
    """dmsetup remove: drop a kpartx map or an LVM device (which LVM's metadata still lists)."""
    dm = devmap.dm_state(state)
    present = {d.name: d for d in devmap.devices(state)}
    if name not in present:
        raise _busy(name, "No such device or address")
    if devmap.open_count(state, name):
        raise _busy(name, "Device or resource busy")
    part = dm["parts"].pop(name, None)
    if part is not None:
        parent = devmap.resolve(state, part["parent"])
        lv = devmap.lv_of(state, parent) if parent else None
        if lv is not None and parent is not None and parent.lv:
            lv.open_count = max(0, lv.open_count - 1)
    else:
        dm["removed"].append(name)
    dm["minor"].pop(name, None)


def _info(state: State, dev: devmap.DmDev) -> str:
    minor = devmap.dm_state(state)["minor"].get(dev.name, 0)
    ro = " (READ-ONLY)" if dev.lv and not state.vgs[dev.lv[0]].lvs[dev.lv[1]].writable else ""
    return (
        f"Name:              {dev.name}\n"
        f"State:             ACTIVE{ro}\n"
        "Read Ahead:        256\n"
        "Tables present:    LIVE\n"
        f"Open count:        {devmap.open_count(state, dev.name)}\n"
        "Event number:      0\n"
        f"Major, minor:      {DM_MAJOR}, {minor}\n"
        f"Number of targets: {dev.targets}\n"
        f"UUID: {dev.uuid}\n\n"
    )


COLUMNS = {  # dmsetup info -c fields: heading, and whether the value is numeric (right-aligned)
    "name": ("Name", False),
    "major": ("Maj", True),
    "minor": ("Min", True),
    "attr": ("Stat", False),
    "open": ("Open", True),
    "segments": ("Targ", True),
    "events": ("Event", True),
    "uuid": ("UUID", False),
}
DMSETUP_VALUED = {
    "-o",
    "--options",
    "--sort",
    "-O",
    "--separator",
    "-j",
    "--major",
    "-m",
    "--minor",
    "-u",
    "--uuid",
}


def _parse_dmsetup(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """dmsetup's switches (long ones also as --name=value) and its command words."""
    opts: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            words.append(arg)
            continue
        key, eq, value = arg.partition("=")
        if key in DMSETUP_VALUED and not eq:
            value = argv[i] if i < len(argv) else ""
            i += 1
        opts[{"-o": "--options", "-O": "--sort", "-C": "-c", "--columns": "-c"}.get(key, key)] = value
    return opts, words


def _columns(state: State, devs: list[devmap.DmDev], opts: dict[str, str]) -> str:
    """dmsetup info -c: a libdm report of the chosen fields."""
    fields = [
        f.strip() for f in opts.get("--options", "name,major,minor,attr,open,segments,events,uuid").split(",")
    ]
    unknown = [f for f in fields if f not in COLUMNS]
    if unknown:
        raise _fail(f"Unrecognised field: {unknown[0]}\nCommand failed.", 1)
    minors = devmap.dm_state(state)["minor"]
    values = {
        "name": lambda d: d.name,
        "major": lambda d: str(DM_MAJOR),
        "minor": lambda d: str(minors.get(d.name, 0)),
        "attr": lambda d: "L--w",
        "open": lambda d: str(devmap.open_count(state, d.name)),
        "segments": lambda d: str(d.targets),
        "events": lambda d: "0",
        "uuid": lambda d: d.uuid,
    }
    sort = opts.get("--sort", "")
    if sort:
        key = sort.lstrip("+-")
        devs = sorted(
            devs, key=lambda d: values[key](d) if key in values else "", reverse=sort.startswith("-")
        )
    rows = [[values[f](d) for f in fields] for d in devs]
    heads = [] if "--noheadings" in opts else [[COLUMNS[f][0] for f in fields]]
    sep = opts.get("--separator")
    if sep is not None:
        return "".join(sep.join(row) + "\n" for row in heads + rows)
    widths = [max(len(r[c]) for r in heads + rows) for c in range(len(fields))]
    lines = []
    for row in heads + rows:
        cells = []
        for c, f in enumerate(fields):
            last = c == len(fields) - 1
            cells.append(
                row[c].rjust(widths[c]) if COLUMNS[f][1] else row[c] if last else row[c].ljust(widths[c])
            )
        lines.append(" ".join(cells))
    return "".join(line + "\n" for line in lines)


@command(CommandSpec("dmsetup", {}, raw=True))
def dmsetup(ctx: Ctx) -> int:
    state, out = ctx.state, ctx.console.raw_out
    opts, args = _parse_dmsetup(c_argv(ctx))
    if not args:
        raise _fail(
            "dmsetup: Please specify a command.\nUsage:\n\ndmsetup\n"
            "        [--version] [-h|--help [-c|-C|--columns]]",
            1,
        )
    cmd, names = args[0], args[1:]
    devmap.refresh(state)
    present = {d.name: d for d in devmap.devices(state)}
    if cmd == "ls":
        if not present:
            out("No devices found\n")
        for name in sorted(present):
            out(f"{name}\t({DM_MAJOR}:{devmap.dm_state(state)['minor'][name]})\n")
        return 0
    if cmd == "info":
        missing = next((n for n in names if n not in present), None)
        if missing is not None:
            raise _fail("Device does not exist.\nCommand failed.", 1)
        devs = [present[n] for n in names or sorted(present)]
        if "-c" in opts:
            out(_columns(state, devs, opts) if devs else "No devices found\n")
        else:
            out("".join(_info(state, d) for d in devs) if devs or names else "No devices found\n")
        return 0
    if cmd == "remove":
        if not names:
            raise _fail("Please specify device.\nCommand failed.", 1)
        for name in names:
            remove_device(state, name)
        return 0
    raise _fail(f'dmsetup: Unknown command "{cmd}"\nCommand failed.', 1)
