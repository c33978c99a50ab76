"""losetup: simulated loop devices backed by real (usually sparse) files."""

from __future__ import annotations

import os

from lvsim.core import hostpaths
from lvsim.core.context import Ctx, RawSpec, command
from lvsim.core.errors import LvmError
from lvsim.core.model import Disk, State
from lvsim.tools.toolkit import Usage, c_argv, getopt_long, host_file

# long option -> its letter ("\0" for --show, which has none)
_LONG = {
    "find": "f",
    "show": "\0",
    "detach": "d",
    "all": "a",
    "list": "l",
    "detach-all": "D",
    "read-only": "r",
    "noheadings": "n",
    "json": "J",
}
_NAMES = {letter: name for name, letter in _LONG.items()}


def free_loop(state: State) -> str:
    """The lowest /dev/loopN not in use, as the kernel hands them out."""
    n = 0
    while f"/dev/loop{n}" in state.disks:
        n += 1
    return f"/dev/loop{n}"


def attach(state: State, path: str, device: str | None = None) -> str:
    """Attach a file as a loop device of the file's size; return the device."""
    real = host_file("losetup", path)
    device = device or free_loop(state)
    shown = hostpaths.shown(os.path.abspath(real))  # the name as the command knows it
    state.disks[device] = Disk(device, os.path.getsize(real), backing_file=shown)
    return device


def _fail(text: str) -> LvmError:
    return LvmError(rc=1, raw=f"losetup: {text}")


def _loops(state: State) -> list[Disk]:
    return sorted((d for d in state.disks.values() if d.backing_file), key=lambda d: int(d.path[9:]))


@command(RawSpec("losetup"))
def losetup(ctx: Ctx) -> int:
    state, out = ctx.state, ctx.console.raw_out
    try:
        found, pos = getopt_long("losetup", c_argv(ctx), _LONG, {"d"})
    except Usage as exc:
        raise LvmError(rc=1, raw=f"{exc}\nTry 'losetup --help' for more information.") from None
    opts: dict[str, list[str]] = {}
    for letter, value in found:
        opts.setdefault(_NAMES[letter], []).append(value)
    if "detach" in opts or "detach-all" in opts:
        devices = opts.get("detach", []) + pos
        if "detach-all" in opts:
            devices = [d.path for d in _loops(state)]
        for device in devices:
            if device not in state.disks or not state.disks[device].backing_file:
                raise _fail(f"{device}: detach failed: No such device or address")
            if device in state.pvs and state.pvs[device].vg:
                state.disks[device].backing_file = None  # still held open by LVM in reality: keep the PV
                continue
            state.pvs.pop(device, None)
            del state.disks[device]
        return 0
    if "find" in opts:
        if not pos:
            out(free_loop(state) + "\n")
            return 0
        path = pos[0]
        if not os.path.exists(host_file("losetup", path)):
            raise _fail(f"{path}: failed to set up loop device: No such file or directory")
        device = attach(state, path)
        if "show" in opts:
            out(device + "\n")
        return 0
    if len(pos) == 2:
        device, path = pos
        if device in state.disks:
            raise _fail(f"{path}: failed to set up loop device: Device or resource busy")
        if not os.path.exists(host_file("losetup", path)):
            raise _fail(f"{path}: failed to set up loop device: No such file or directory")
        attach(state, path, device)
        return 0
    if "list" in opts or "all" in opts or not pos:
        loops = _loops(state)
        if "list" in opts:
            if loops and "noheadings" not in opts:
                out("NAME       SIZELIMIT OFFSET AUTOCLEAR RO BACK-FILE DIO LOG-SEC\n")
            for d in loops:
                out(f"{d.path:<10}         0      0         0  0 {d.backing_file}   0     512\n")
        else:
            for d in loops:
                out(f"{d.path}: []: ({d.backing_file})\n")
        return 0
    device = pos[0]
    disk = state.disks.get(device)
    if disk is None or not disk.backing_file:
        raise _fail(f"{device}: No such device or address")
    out(f"{device}: []: ({disk.backing_file})\n")
    return 0
