"""The dispatcher: one command line in, the command's stdout, stderr and exit code out.

`COMMAND_HOMES` says which module holds each command's handler; the module is imported on first
use (a shim imports only what its command needs) and registers with `lvsim.core.context.command`.
A handler gets a `Ctx` and returns an exit code or raises `LvmError`. LVM's commands are those of
the command table (`lvsim.lvm.table`): one lvsim does not emulate is refused before anything runs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, TextIO

from lvsim.core.config import ConfigError
from lvsim.core.console import Console
from lvsim.core.context import COMMANDS, Ctx, Handler, Spec
from lvsim.core.errors import EINVALID_CMD_LINE, ENO_SUCH_CMD, NOT_EMULATED, LvmError
from lvsim.core.model import State
from lvsim.lvm.table import lookup as table

if TYPE_CHECKING:
    from lvsim.lvm.metadata.files import Archiver

# Where each command's handler lives (a module under lvsim).
COMMAND_HOMES = {
    **{name: f"lvm.{name}" for name in ("pvcreate", "pvremove", "pvchange")},
    **{name: f"lvm.{name}" for name in ("vgcreate", "vgremove", "vgchange")},
    **dict.fromkeys(("vgextend", "vgreduce"), "lvm.vgextend"),
    **{name: f"lvm.{name}" for name in ("lvcreate", "lvremove", "lvrename", "lvchange", "lvconvert")},
    **dict.fromkeys(("lvextend", "lvreduce", "lvresize"), "lvm.lvresize"),
    **dict.fromkeys(("lvs", "vgs", "pvs"), "lvm.reporter"),
    **{name: f"lvm.{name}" for name in ("lvdisplay", "vgdisplay", "pvdisplay", "lvscan", "vgscan", "pvscan")},
    "vgrename": "lvm.vgrename",
    **{name: f"lvm.{name}" for name in ("vgcfgbackup", "vgcfgrestore")},
    "help": "lvm.about",
    **dict.fromkeys(("lvmconfig", "config", "dumpconfig"), "lvm.lvmconfig"),
    "losetup": "tools.losetup",
    "cat": "tools.cat",
    **dict.fromkeys(("dd", "blkdiscard"), "tools.dd"),
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
        "tools.filesystems",
    ),
    **dict.fromkeys(("sfdisk", "kpartx"), "tools.partitions"),
    "dmsetup": "tools.dmsetup",
    **dict.fromkeys(("mountpoint", "findmnt"), "tools.mountinfo"),
}


def lookup(name: str) -> tuple[Spec, Handler] | None:
    """The spec and handler of a command, importing its module on first use."""
    home = COMMAND_HOMES.get(name)
    if home is not None and name not in COMMANDS:
        importlib.import_module(f"lvsim.{home}")
    return COMMANDS.get(name)


# Tools the simulator runs (lvsim exec, the backends) without standing in for them on PATH: cat reads
# the simulated /etc/lvm's files, and a script's every other cat is the host's business.
NOT_SHIMMED = frozenset({"cat"})


def command_names() -> list[str]:
    """The programs the shims stand for: every program of lvm2 (emulated or not), lvm, the tools."""
    tools = [n for n, home in COMMAND_HOMES.items() if home.startswith("tools.") and n not in NOT_SHIMMED]
    return sorted({*table.programs(), *tools, "lvm"})


@dataclass(frozen=True)
class Outcome:
    rc: int
    stdout: str
    stderr: str


def run(
    state: State, argv: Sequence[str], stdin: str | TextIO = "", env: Mapping[str, str] | None = None
) -> Outcome:
    """Run one command line against state (changing it in place); env is the command's environment
    (what LVM reads of it: LVM_SYSTEM_DIR), none by default."""
    console = Console(stdin)
    name = os.path.basename(argv[0]) if argv else "lvm"
    rest = list(argv[1:])
    if name == "lvm":
        early = _lvm_front(rest, console)
        if early is not None:
            return Outcome(early, console.stdout, console.stderr)
        name, rest = rest[0], rest[1:]
    if table.is_command(name) and rest[:1] == ["-?"]:  # lvm2 reads CMD -? as CMD -h
        rest[0] = "-h"
    entry = lookup(name)
    if entry is None and table.is_command(name):
        from lvsim.lvm.refusal import check_command

        try:
            check_command(name)
        except LvmError as exc:
            console.raw_err(exc.raw + "\n")
            return Outcome(exc.rc, console.stdout, console.stderr)
    if entry is None:
        console.error("No such command.  Try 'lvm help'.")
        return Outcome(ENO_SUCH_CMD, console.stdout, console.stderr)
    spec, handler = entry
    from lvsim.core import devmap, fsimage

    try:
        fsimage.sync_mounts(state)  # what the kernel's writeback has done by now
    except LvmError as exc:  # files lvsim cannot write back as the kernel would: not emulated
        console.raw_err(exc.raw + "\n")
        return Outcome(exc.rc, console.stdout, console.stderr)
    held: list[str] = []
    if state.faults:  # injected by lvsim.testing (the pytest plugin, `lvsim fail`)
        from lvsim.testing import faults

        injected = faults.before(state, name, rest)
        if isinstance(injected, tuple):
            return Outcome(*injected)
        held = injected
    lvm_command = table.is_command(name)
    monitor = _monitor(state, lvm_command)
    _catch_up(state, monitor)  # what happened while the simulated clock moved
    archiver = _archiver(state, name, env)
    ctx: Ctx | None = None
    try:
        args = spec.parse(rest)
        console.silent = args.count("quiet") > 1  # LVM's silent mode
        ctx = Ctx(state, console, args, name, env or {}, rest)
        if lvm_command:
            config_warnings(ctx)  # LVM reads its configuration before anything else
            if any(pv.missing for pv in state.pvs.values()):
                from lvsim.lvm.missing_pvs import check_command

                check_command(ctx)
        rc = handler(ctx)
        if lvm_command and _reloads_config(ctx):
            console.error("Reloading config files")  # --config's tree dropped again (recorded, -v)
    except ConfigError as exc:
        ctx = None
        lines = list(exc.lines)
        if exc.raw:  # read before LVM's log prefix is set up
            console.raw_err(lines.pop(0) + "\n")
        if exc.rc == EINVALID_CMD_LINE:
            lines.append(f"Run `{name} --help' for more information.")
        for line in lines:
            console.error(line)
        rc = exc.rc
    except LvmError as exc:
        if exc.raw:
            console.raw_err(exc.raw + "\n")
        console.raw_out(exc.stdout)
        for line in exc.lines:
            console.error(line)
        rc = exc.rc
    if held:
        from lvsim.testing import faults

        faults.after(state, held)
    devmap.refresh(state)
    if archiver is not None and ctx is not None:
        archiver.finish(ctx)
    if monitor is not None and ctx is not None and lvm_command:
        monitor.after_command(ctx)
    _catch_up(state, monitor)  # what the command set off: the kernel's events, queued writes going on
    return Outcome(rc, console.stdout, console.stderr)


def config_warnings(ctx: Ctx) -> None:
    """Read the command's configuration (raising ConfigError if LVM could not) and print LVM's
    warnings about it."""
    ctx.console.prefix = ctx.config.str("log/prefix")
    if _reloads_config(ctx):
        ctx.console.error("Reloading config files")  # --config applied over the files (recorded, -v)
    # lvmconfig --validate checks the files alone, and says nothing of --config (recorded)
    files_only = ctx.command in ("lvmconfig", "config", "dumpconfig") and ctx.args.has("validate")
    for line in [*ctx.config.warnings, *ctx.config.problems(command_line=not files_only)]:
        ctx.console.error(line)
    for source, path in ctx.config.unhonoured():
        from lvsim.lvm.refusal import refuse

        refuse(f"{source} setting {path}")


def _reloads_config(ctx: Ctx) -> bool:
    """LVM says when it reloads its configuration for --config and back, at -v."""
    return ctx.args.has("config") and ctx.args.count("verbose") >= 1


def catch_up(state: State) -> None:
    """Let what the simulated clock set off happen, up to its time now (after it was moved)."""
    _catch_up(state, _monitor(state, False))


def _catch_up(state: State, monitor: ModuleType | None) -> None:
    """Simulated applications' writes (lvsim.tools.workload) and dmeventd's acts, up to the clock."""
    if state.workloads:
        from lvsim.tools import workload

        workload.catch_up(state, monitor.catch_up if monitor is not None else None)
    elif monitor is not None:
        monitor.catch_up(state)


def _monitor(state: State, lvm_command: bool) -> ModuleType | None:
    """lvsim.lvm.dmeventd when it has something to do: after LVM commands, or once it runs."""
    if not lvm_command and not (state.dmeventd or {}).get("running"):
        return None
    from lvsim.lvm import dmeventd

    return dmeventd


def _archiver(state: State, name: str, env: Mapping[str, str] | None) -> Archiver | None:
    """The archives and backups of a command that may write metadata (lvsim.lvm.metadata.files)."""
    from lvsim.lvm.metadata import CHECKERS, WRITERS

    if name not in WRITERS and name not in CHECKERS:
        return None
    from lvsim.lvm.metadata.files import Archiver

    return Archiver.start(state, name, env)


def _lvm_front(rest: list[str], console: Console) -> int | None:
    """What `lvm` answers itself before running a command: its shell, `lvm version`, `lvm -h`, options
    given before the command. Returns the exit code when it has answered, else None (rest[0] is the
    command to run, "help" for -h)."""
    if not rest:  # LVM's shell: at the end of its input it prints a newline and exits
        if console.read_all():
            console.raw_err("lvsim: the lvm shell is not emulated\n")
            return NOT_EMULATED
        console.raw_out("\n")
        return 0
    if rest[0] == "version":
        from lvsim.lvm.table.helptext import version_text

        console.raw_out(version_text())
        return 0
    if rest[0] in ("-h", "--help", "-?"):
        rest[0] = "help"
    elif rest[0].startswith("-"):
        console.error("Specify options after a command: lvm [command] [options].")
        return EINVALID_CMD_LINE
    return None
