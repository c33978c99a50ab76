"""mountpoint and findmnt (util-linux 2.38) over the simulated mounts, in the words and formats the
real tools print (recorded in the VM).

A directory a simulated mount uses is a mount point; for mountpoint, so is a real mount point of the
host (it asks the host, as the real tool would).  findmnt shows simulated mounts only: a query whose
answer is a host mount, and listings of every mount, are refused as not emulated.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from lvsim.core import devmap, fsimage
from lvsim.core.context import Ctx, RawSpec, command
from lvsim.core.errors import NOT_EMULATED, LvmError
from lvsim.core.model import State
from lvsim.tools.toolkit import Usage, c_argv, fail, getopt_long, host_file

_TRY = "Try '{prog} --help' for more information."
_OPTIONS = {"ext4": "relatime", "xfs": "relatime,attr2,inode64,logbufs=8,logbsize=32k,noquota"}


def _usage(prog: str, text: str) -> LvmError:
    return fail(f"{text}\n{_TRY.format(prog=prog)}", 1)


def mount_at(state: State, real: str) -> dict[str, Any] | None:
    """The (last) simulated mount on a directory."""
    return next((m for m in reversed(fsimage.mounts(state)) if m["target"] == real), None)


def dev_number(state: State, mount: dict[str, Any]) -> str:
    """MAJ:MIN of a mount's device (device-mapper's 254 for LVs, loop devices 7)."""
    dev = fsimage.mount_device(state, mount)
    name = dev.name if dev is not None else ""
    minor = devmap.dm_state(state)["minor"].get(name)
    if minor is not None:
        return f"{devmap.DM_MAJOR}:{minor}"
    from lvsim.lvm.report.view import dev_numbers

    major, minor = dev_numbers(mount["source"])
    return f"{major}:{minor}"


def _refuse(prog: str, what: str) -> LvmError:
    return fail(f"lvsim: {prog} {what} is not emulated", NOT_EMULATED)


# ---------------------------------------------------------------------------------------------
# mountpoint


@command(RawSpec("mountpoint"))
def mountpoint(ctx: Ctx) -> int:
    longs = {"quiet": "q", "fs-devno": "d", "devno": "x", "nofollow": "n", "help": "h", "version": "V"}
    try:
        opts, pos = getopt_long("mountpoint", c_argv(ctx), longs, set())
    except Usage as exc:
        raise _usage("mountpoint", str(exc)) from None
    flags = {o for o, _ in opts}
    if flags & {"h", "V", "n"}:
        raise _refuse("mountpoint", "-" + "".join(sorted(flags & {"h", "V", "n"})))
    if len(pos) != 1:
        raise _usage("mountpoint", "mountpoint: bad usage")
    arg, quiet, out = pos[0], "q" in flags, ctx.console.raw_out
    real = host_file("mountpoint", arg)
    if "x" in flags:
        dev = devmap.resolve(ctx.state, arg)
        if dev is None:
            raise _refuse("mountpoint", "-x of a device lvsim does not simulate")
        mount = next((m for m in fsimage.mounts(ctx.state) if m["name"] == dev.name), None)
        if mount is not None:
            number = dev_number(ctx.state, mount)
        else:
            minor = devmap.dm_state(ctx.state)["minor"].get(dev.name)
            number = f"{devmap.DM_MAJOR}:{minor}" if minor is not None else None
        if number is None:
            raise _refuse("mountpoint", "-x of a device without a device-mapper node")
        if not quiet:
            out(number + "\n")
        return 0
    try:
        os.stat(real)
    except OSError as exc:
        if not quiet:
            ctx.console.raw_err(f"mountpoint: {arg}: {exc.strerror}\n")
        return 1
    mount = mount_at(ctx.state, os.path.realpath(real))
    if mount is None and os.path.ismount(real):
        if "d" in flags:
            raise _refuse("mountpoint", "-d of a mount point of the host")
        if not quiet:
            out(f"{arg} is a mountpoint\n")
        return 0
    if mount is None:
        if not quiet:
            out(f"{arg} is not a mountpoint\n")
        return 32
    if not quiet:
        out(dev_number(ctx.state, mount) + "\n" if "d" in flags else f"{arg} is a mountpoint\n")
    return 0


# ---------------------------------------------------------------------------------------------
# findmnt

_COLUMNS = ("TARGET", "SOURCE", "FSTYPE", "OPTIONS", "MAJ:MIN", "FSROOT", "UUID", "LABEL")
_FINDMNT_LONG = {
    "noheadings": "n", "output": "o", "raw": "r", "list": "l", "json": "J", "pairs": "P", "types": "t",
    "source": "S", "target": "T", "mountpoint": "M", "first-only": "f", "help": "h", "version": "V",
}  # fmt: skip


def _row(state: State, m: dict[str, Any]) -> dict[str, str]:
    dev = fsimage.mount_device(state, m)
    found = fsimage.probe(state, dev) if dev is not None else None
    return {
        "TARGET": m["target"],
        "SOURCE": m["source"],
        "FSTYPE": m["type"],
        "OPTIONS": ("ro," if m["ro"] else "rw,") + _OPTIONS.get(m["type"], "relatime"),
        "MAJ:MIN": dev_number(state, m),
        "FSROOT": "/",
        "UUID": found.uuid if found else "",
        "LABEL": found.label if found else "",
    }


def host_mountinfo() -> list[tuple[str, str, str]]:
    """(major:minor, mount point, source) of each of the host's own mounts (/proc/self/mountinfo; the
    mount point with its octal escapes undone)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            target = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            source = line.split(" - ", 1)[1].split()[1:2] if " - " in line else []
            found.append((fields[2], target, source[0] if source else ""))
    return found


def _select(ctx: Ctx, flags: dict[str, str], pos: list[str]) -> list[dict[str, Any]]:
    state = ctx.state
    mounts = fsimage.mounts(state)
    target = flags.get("T") or flags.get("M")
    source = flags.get("S")
    if pos:
        if len(pos) > 1 or target or source:
            raise _refuse("findmnt", "with more than one source or target")
        if devmap.resolve(state, pos[0]) is not None:
            source = pos[0]
        else:
            flags["M"] = target = pos[0]
    if not target and not source:
        raise _refuse("findmnt", "listing every mount (give a mount point or a source)")
    if source:
        dev = devmap.resolve(state, source)
        if dev is None:
            if any(s == source for _, _, s in host_mountinfo()):
                raise _refuse("findmnt", f"of {source}, a device of the host")
            return []
        return [m for m in mounts if m["name"] == dev.name]
    assert target is not None
    real = os.path.realpath(host_file("findmnt", target))
    if "T" in flags:  # the mount the path is on
        path = real
        while True:
            hit = mount_at(state, path)
            if hit is not None:
                return [hit]
            if os.path.ismount(path) or path == "/":
                raise _refuse("findmnt", f"-T {target} (a path on a mount of the host)")
            path = os.path.dirname(path)
    hit = mount_at(state, real)
    if hit is None and os.path.ismount(real):
        raise _refuse("findmnt", f"of {target}, a mount point of the host")
    return [hit] if hit is not None else []


@command(RawSpec("findmnt"))
def findmnt(ctx: Ctx) -> int:
    try:
        opts, pos = getopt_long("findmnt", c_argv(ctx), _FINDMNT_LONG, {"o", "t", "S", "T", "M"})
    except Usage as exc:
        raise _usage("findmnt", str(exc)) from None
    flags = dict(opts)
    if "h" in flags or "V" in flags:
        raise _refuse("findmnt", "--help/--version")
    columns = [c.upper() for c in flags.get("o", "TARGET,SOURCE,FSTYPE,OPTIONS").split(",") if c]
    for column in columns:
        if column not in _COLUMNS:
            if column in (
                "SIZE",
                "USED",
                "AVAIL",
                "USE%",
                "ID",
                "OPT-FIELDS",
                "PROPAGATION",
                "FREQ",
                "PASSNO",
            ):
                raise _refuse("findmnt", f"column {column}")
            ctx.console.raw_err(f"findmnt: unknown column: {column}\n")
            return 1
    found = _select(ctx, flags, pos)
    if "t" in flags:
        types = flags["t"].split(",")
        found = [m for m in found if m["type"] in types]
    if "f" in flags:
        found = found[:1]
    if not found:
        return 1
    rows = [[_row(ctx.state, m)[c] for c in columns] for m in found]
    ctx.console.raw_out(_format(columns, rows, flags))
    return 0


def _format(columns: list[str], rows: list[list[str]], flags: dict[str, str]) -> str:
    heading = "n" not in flags
    if "J" in flags:
        items = [{c.lower(): v for c, v in zip(columns, row, strict=True)} for row in rows]
        return json.dumps({"filesystems": items}, indent=3) + "\n"
    if "P" in flags:
        return "".join(
            " ".join(f'{c}="{v}"' for c, v in zip(columns, row, strict=True)) + "\n" for row in rows
        )
    if "r" in flags:
        lines = ([columns] if heading else []) + [[v.replace(" ", "\\x20") for v in r] for r in rows]
        return "".join(" ".join(line) + "\n" for line in lines)
    table = ([columns] if heading else []) + rows
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "".join(
        " ".join(v if i == len(columns) - 1 else v.ljust(widths[i]) for i, v in enumerate(line)) + "\n"
        for line in table
    )
