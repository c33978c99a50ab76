"""losetup: simulated loop devices backed by real (usually sparse) files."""

from __future__ import annotations

import os

from lvsim.core.context import Ctx, command
from lvsim.core.errors import LvmError
from lvsim.core.model import Disk, State
from lvsim.lvm.parser import CommandSpec

LOSETUP_OPTIONS = {
    "find": "f",
    "show": None,
    "detach": "d",
    "all": "a",
    "list": "l",
    "detach-all": "D",
    "read-only": "r",
    "noheadings": "n",
    "json": "J",
}


def free_loop(state: State) -> str:
    """The lowest /dev/loopN not in use, as the kernel hands them out."""
    n = 0
    while f"/dev/loop{n}" in state.disks:
        n += 1
    return f"/dev/loop{n}"


def attach(state: State, path: str, device: str | None = None) -> str:
    """Attach a file as a loop device of the file's size; return the device."""
    device = device or free_loop(state)
    state.disks[device] = Disk(device, os.path.getsize(path), backing_file=os.path.abspath(path))
    return device


def _fail(text: str) -> LvmError:
    return LvmError(rc=1, raw=f"losetup: {text}")


def _loops(state: State) -> list[Disk]:
    return sorted((d for d in state.disks.values() if d.backing_file), key=lambda d: int(d.path[9:]))


@command(CommandSpec("losetup", LOSETUP_OPTIONS, types={"detach": "string"}))
def losetup(ctx: Ctx) -> int:
    args, state, out = ctx.args, ctx.state, ctx.console.raw_out
    if args.has("detach") or args.has("detach-all"):
        devices = [str(d) for d in args.opts.get("detach", [])] + args.pos
        if args.has("detach-all"):
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
    if args.has("find"):
        if not args.pos:
            out(free_loop(state) + "\n")
            return 0
        path = args.pos[0]
        if not os.path.exists(path):
            raise _fail(f"{path}: failed to set up loop device: No such file or directory")
        device = attach(state, path)
        if args.has("show"):
            out(device + "\n")
        return 0
    if len(args.pos) == 2:
        device, path = args.pos
        if device in state.disks:
            raise _fail(f"{path}: failed to set up loop device: Device or resource busy")
        if not os.path.exists(path):
            raise _fail(f"{path}: failed to set up loop device: No such file or directory")
        attach(state, path, device)
        return 0
    if args.has("list") or args.has("all") or not args.pos:
        loops = _loops(state)
        if args.has("list"):
            if loops and not args.has("noheadings"):
                out("NAME       SIZELIMIT OFFSET AUTOCLEAR RO BACK-FILE DIO LOG-SEC\n")
            for d in loops:
                out(f"{d.path:<10}         0      0         0  0 {d.backing_file}   0     512\n")
        else:
            for d in loops:
                out(f"{d.path}: []: ({d.backing_file})\n")
        return 0
    device = args.pos[0]
    disk = state.disks.get(device)
    if disk is None or not disk.backing_file:
        raise _fail(f"{device}: No such device or address")
    out(f"{device}: []: ({disk.backing_file})\n")
    return 0
