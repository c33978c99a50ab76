"""Injected failures, kept in the simulator's state and applied by the dispatcher.

A fault record names commands (`lvremove`, `mount`, ...; `lvm lvremove` counts as `lvremove`), an
optional regular expression searched in the whole command line, and how many matching calls it
applies to.  It does one of two things to a matching call:

- fail it: the call prints the record's stdout and stderr and exits with its code, and changes
  nothing in the state (only the record's count goes down);
- hold a device open while the call runs (`hold`): the emulated command then fails with LVM's own
  words, as when udev or another process has the device open (`Logical volume vg/x in use.`,
  dmsetup's `Device or resource busy`, kpartx -d's exit code 1).

Records live in ``state.faults``; devices held open for good (`hold`/`release`, the
plugin's `hold_open`) in the LV's open count or ``state.dm["held"]``.  This module is
imported by the dispatcher only when the state has fault records, so shims without faults never
load it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from typing import Any

from lvsim.core import devmap
from lvsim.core.model import State
from lvsim.core.names import split_dm_name

DMESG = "       dmesg(1) may have more information after failed mount system call."
# mount's options that take a value (util-linux mount(8)), to find its source and target words.
_MOUNT_VALUE_OPTIONS = frozenset("oOtLUTN")


class FaultError(ValueError):
    """A fault cannot be set up as asked; the message says why."""


def records(state: State) -> list[dict[str, Any]]:
    """The pending fault records, in the order they apply."""
    return state.faults


def _check(command: str, match: str | None, times: int) -> None:
    if not command or "/" in command or command != command.strip():
        raise FaultError(f"not a command name: {command!r}")
    if times < 1:
        raise FaultError(f"times must be at least 1, not {times}")
    if match is not None:
        try:
            re.compile(match)
        except re.error as exc:
            raise FaultError(f"bad regular expression {match!r}: {exc}") from None


def add_failure(
    state: State,
    command: str,
    *,
    rc: int,
    stdout: str = "",
    stderr: str = "",
    times: int = 1,
    match: str | None = None,
) -> dict[str, Any]:
    """The next `times` calls of `command` (whose command line `match` finds) exit with rc, printing
    stdout and stderr as given, and change nothing."""
    _check(command, match, times)
    if not 0 < rc < 256:
        raise FaultError(f"rc must be 1..255 (a failure), not {rc}")
    return _add(state, [command], match, times, rc=rc, stdout=stdout, stderr=stderr)


def add_lock_timeout(state: State, vg: str, *, times: int = 1) -> dict[str, Any]:
    """The next `times` LVM commands naming VG fail as one does that waited for the VG's lock (another
    LVM command holding it) until a timeout interrupted it: LVM's words, recorded on LVM 2.03.16."""
    from lvsim.lvm.table import lookup

    if vg not in state.vgs:
        raise FaultError(f"no volume group {vg}")
    stderr = (
        "  Interrupted...\n  Giving up waiting for lock.\n"
        f"  Can't get lock for {vg}.\n  Cannot process volume group {vg}\n"
    )
    match = rf"(^|[\s/=]){re.escape(vg)}(/|\s|$)"
    return _add(state, sorted(lookup.programs()), match, times, rc=5, stdout="", stderr=stderr)


def _add(state: State, commands: list[str], match: str | None, times: int, **what: Any) -> dict[str, Any]:
    record = {"commands": commands, "match": match, "times": times, **what}
    records(state).append(record)
    return record


def add_hold(
    state: State, device: str, *, commands: Sequence[str], times: int = 1, match: str | None = None
) -> dict[str, Any]:
    """While each of the next `times` calls of one of `commands` runs, `device` is held open."""
    if not commands:
        raise FaultError("a hold needs at least one command")
    for command in commands:
        _check(command, match, times)
    return _add(state, list(commands), match, times, hold=_target(state, device))


def add_mount_failure(state: State, *, times: int = 1, match: str | None = None) -> dict[str, Any]:
    """The next `times` mounts fail as on a device that cannot be read (mount's exit code 32)."""
    _check("mount", match, times)
    return _add(state, ["mount"], match, times, mount="unreadable")


def clear(state: State) -> int:
    """Drop every pending fault record; return how many there were."""
    count, state.faults = len(state.faults), []
    return count


def describe(record: dict[str, Any]) -> str:
    """One line for `lvsim fail --list`."""
    commands = ",".join(record["commands"]) if len(record["commands"]) < 4 else "LVM's commands"
    what = (
        f"hold {record['hold']} open"
        if "hold" in record
        else "mount: can't read superblock"
        if "mount" in record
        else f"rc={record['rc']}"
    )
    match = f" matching {record['match']!r}" if record["match"] else ""
    return f"{commands}{match}: {what}, {record['times']} more time(s)"


# ---------------------------------------------------------------------------------------------
# Devices held open


def _target(state: State, device: str) -> str:
    """The canonical name of a device to hold: "VG/LV" for an LV, else a kpartx mapping's dm name.  As
    VG/LV or /dev/VG/LV, the LV may not exist yet (a fault can wait for the snapshot a script makes)."""
    path = os.path.normpath(device)
    if path.startswith("/dev/mapper/"):
        name = path[len("/dev/mapper/") :]
        if name in devmap.dm_state(state)["parts"]:
            return name
        vg, lv = split_dm_name(name)
        if vg in state.vgs and lv in state.vgs[vg].lvs:
            return f"{vg}/{lv}"
        raise FaultError(f"no device-mapper device {device} (name an LV yet to be made as VG/LV)")
    parts = path.removeprefix("/dev/").split("/")
    if len(parts) == 2 and parts[0] in state.vgs and parts[1]:
        return "/".join(parts)
    raise FaultError(f"{device} is neither an LV of an existing VG (VG/LV, /dev/VG/LV) nor a kpartx mapping")


def _adjust(state: State, target: str, delta: int) -> None:
    if "/" in target:
        vg, lv = target.split("/", 1)
        if vg in state.vgs and lv in state.vgs[vg].lvs:
            found = state.vgs[vg].lvs[lv]
            found.open_count = max(0, found.open_count + delta)
        return
    held = devmap.dm_state(state).setdefault("held", {})
    count = held.get(target, 0) + delta
    if count > 0:
        held[target] = count
    else:
        held.pop(target, None)


def hold(state: State, device: str) -> str:
    """Hold a device open until `release` (as a process with it open would); return its name."""
    target = _target(state, device)
    _adjust(state, target, 1)
    return target


def release(state: State, target: str) -> None:
    """Undo one `hold` of the device `hold` returned."""
    _adjust(state, target, -1)


# ---------------------------------------------------------------------------------------------
# The dispatcher's side


def _mount_words(state: State, args: Sequence[str]) -> tuple[int, str, str]:
    """mount's failure for a device it cannot read, naming the target and the source as mount does."""
    words, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("--"):
            continue
        elif arg.startswith("-") and len(arg) > 1:
            skip = arg[-1] in _MOUNT_VALUE_OPTIONS
        else:
            words.append(arg)
    source = words[0] if words else ""
    target = os.path.realpath(words[1]) if len(words) > 1 else os.path.abspath(source)
    dev = devmap.resolve(state, source) if source else None
    shown = dev.path if dev is not None else source
    return 32, "", f"mount: {target}: can't read superblock on {shown}.\n{DMESG}\n"


def before(state: State, name: str, args: Sequence[str]) -> tuple[int, str, str] | list[str]:
    """Apply the first record matching this call: a failure's (rc, stdout, stderr), or the list of
    devices now held open for the call (give it to `after`)."""
    line = shlex.join([name, *args])
    pending = records(state)
    for record in pending:
        if name not in record["commands"]:
            continue
        if record["match"] is not None and not re.search(record["match"], line):
            continue
        record["times"] -= 1
        if record["times"] <= 0:
            pending.remove(record)
        if "hold" in record:
            _adjust(state, record["hold"], 1)
            return [record["hold"]]
        if "mount" in record:
            return _mount_words(state, args)
        return record["rc"], record["stdout"], record["stderr"]
    return []


def after(state: State, held: Sequence[str]) -> None:
    """Let go of the devices `before` held open for a call."""
    for target in held:
        _adjust(state, target, -1)
