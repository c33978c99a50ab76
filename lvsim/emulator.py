"""The command emulator: one LVM command line in, LVM's stdout, stderr and exit code out.

Command handlers live in `lvsim.commands.*` and register themselves with
`@command(spec)`.  A handler gets a `Ctx` and returns an exit code or raises
`LvmError`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from lvsim.cmdline import Args, CommandSpec, parse
from lvsim.console import Console
from lvsim.errors import ENO_SUCH_CMD, LvmError
from lvsim.model import State

# Where each command's handler lives: a shim imports only the module it needs.
COMMAND_HOMES = {
    **dict.fromkeys(("pvcreate", "pvremove", "pvchange"), "pv"),
    **dict.fromkeys(("vgcreate", "vgextend", "vgreduce", "vgremove", "vgchange"), "vg"),
    **dict.fromkeys(
        ("lvcreate", "lvextend", "lvreduce", "lvresize", "lvremove", "lvrename", "lvchange"), "lv"
    ),
    "lvconvert": "thin",
    **dict.fromkeys(("lvs", "vgs", "pvs"), "report"),
    "losetup": "losetup",
    **dict.fromkeys(("dd", "blkdiscard"), "data"),
    **dict.fromkeys(
        (
            "mkfs.ext4",
            "mkfs.xfs",
            "mount",
            "umount",
            "xfs_repair",
            "xfs_freeze",
            "fsfreeze",
            "fstrim",
            "blkid",
            "rsync",
        ),
        "fs",
    ),
    **dict.fromkeys(("sfdisk", "kpartx", "dmsetup"), "dm"),
}


@dataclass
class Ctx:
    """What a command handler works with."""

    state: State
    console: Console
    args: Args
    command: str


Handler = Callable[[Ctx], int]
COMMANDS: dict[str, tuple[CommandSpec, Handler]] = {}


def command(spec: CommandSpec) -> Callable[[Handler], Handler]:
    """Register a handler for spec.name."""

    def register(fn: Handler) -> Handler:
        COMMANDS[spec.name] = (spec, fn)
        return fn

    return register


def _lookup(name: str) -> tuple[CommandSpec, Handler] | None:
    home = COMMAND_HOMES.get(name)
    if home is not None and name not in COMMANDS:
        importlib.import_module(f"lvsim.commands.{home}")
    return COMMANDS.get(name)


def command_names() -> list[str]:
    return [*sorted(COMMAND_HOMES), "lvm"]


@dataclass(frozen=True)
class Outcome:
    rc: int
    stdout: str
    stderr: str


def run(state: State, argv: Sequence[str], stdin: str | TextIO = "") -> Outcome:
    """Run one command line against state (changing it in place)."""
    console = Console(stdin)
    name = os.path.basename(argv[0]) if argv else "lvm"
    rest = list(argv[1:])
    if name == "lvm":
        if not rest:
            console.error("No command specified.  Try 'lvm help'.")
            return Outcome(ENO_SUCH_CMD, console.stdout, console.stderr)
        name, rest = rest[0], rest[1:]
    entry = _lookup(name)
    if entry is None:
        console.error("No such command.  Try 'lvm help'.")
        return Outcome(ENO_SUCH_CMD, console.stdout, console.stderr)
    spec, handler = entry
    from lvsim import devmap, fs

    fs.sync_mounts(state)  # what the kernel's writeback has done by now
    try:
        args = parse(spec, rest)
        rc = handler(Ctx(state, console, args, name))
    except LvmError as exc:
        if exc.raw:
            console.raw_err(exc.raw + "\n")
        console.raw_out(exc.stdout)
        for line in exc.lines:
            console.error(line)
        rc = exc.rc
    devmap.refresh(state)
    return Outcome(rc, console.stdout, console.stderr)
