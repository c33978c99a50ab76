"""The trainee's simulated machine: a state file, the commands run on it, its save points.

Save points live beside the state, in `saves/NAME/` of the state's directory (each a state file and
its blobs, made with `lvsim.core.store.copy`, the pytest plugin's save points). The point called
`.start` is what `lvsim reset` goes back to: the shell, a lesson or a drill sets it when it starts.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lvsim import dispatch
from lvsim.core import store
from lvsim.core.model import State

START = ".start"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class MachineError(Exception):
    """What the trainee asked cannot be done; the message says why."""


def run(path: Path, argv: Sequence[str], env: Mapping[str, str], stdin: str = "") -> dispatch.Outcome:
    """One command line on the saved state, as a shim runs it."""
    with store.transaction(path) as state:
        return dispatch.run(state, list(argv), stdin, env)


def catch_up(path: Path) -> None:
    """Let dmeventd and the simulated applications do what fell due by the simulated time now."""
    with store.transaction(path) as state:
        dispatch.catch_up(state)


def reporter(path: Path, env: Mapping[str, str]) -> Any:
    """A `report(kind, *args)` function over the saved state (rows as dicts, as Backend.report)."""

    def report(kind: str, *args: str) -> list[dict[str, str]]:
        outcome = run(path, [f"{kind}s", "--reportformat", "json", *args], env)
        if outcome.rc != 0:
            raise MachineError(f"{kind}s failed ({outcome.rc}): {outcome.stderr.strip()}")
        return json.loads(outcome.stdout)["report"][0][kind]

    return report


def saves_dir(path: Path) -> Path:
    return path.parent / "saves"


def _point(path: Path, name: str) -> Path:
    if name != START and not _NAME.match(name):
        raise MachineError(f"a save point's name is letters, digits, '.', '_' and '-': {name!r}")
    return saves_dir(path) / name / "state"


def _check_unmounted(path: Path, what: str) -> None:
    state = store.load(path) if path.exists() else State()
    mounted = [m["target"] for m in state.mounts]
    if mounted:
        raise MachineError(f"{what} with file systems mounted ({', '.join(mounted)}): unmount them first")


def save(path: Path, name: str) -> Path:
    """Save the machine as it is now under `name` (replacing an earlier point of that name)."""
    point = _point(path, name)
    _check_unmounted(path, "save")
    if point.parent.exists():
        shutil.rmtree(point.parent)
    point.parent.mkdir(parents=True, mode=0o700)
    store.copy(path, point)
    return point


def restore(path: Path, name: str) -> None:
    """Make the machine what it was when `name` was saved."""
    point = _point(path, name)
    if not point.exists():
        known = ", ".join(points(path)) or "none yet"
        raise MachineError(f"no save point {name!r} (save points: {known})")
    _check_unmounted(path, "restore")
    store.copy(point, path)


def reset(path: Path) -> bool:
    """Back to the start (the `.start` point), or to an empty machine; True when a start point existed."""
    if _point(path, START).exists():
        restore(path, START)
        return True
    reset_empty(path)
    return False


def unmount_all(path: Path, env: Mapping[str, str]) -> None:
    """umount what the machine has mounted (its mount points are directories of the host), last first."""
    if not path.exists():
        return
    for mount in reversed(store.load(path).mounts):
        outcome = run(path, ["umount", mount["target"]], env)
        if outcome.rc != 0:
            raise MachineError(f"umount {mount['target']} failed: {outcome.stderr.strip()}")


def reset_empty(path: Path) -> None:
    """An empty machine: no disks, no VGs, the clock where a new state starts."""
    _check_unmounted(path, "reset")
    with store.transaction(path) as state:
        fresh = State()
        for name in State.__dataclass_fields__:
            setattr(state, name, getattr(fresh, name))


def forget(path: Path, name: str) -> None:
    """Drop a save point (if there is one)."""
    point = _point(path, name)
    if point.parent.exists():
        shutil.rmtree(point.parent)


def points(path: Path) -> list[str]:
    """The save points' names (not the start point)."""
    directory = saves_dir(path)
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if (p / "state").exists() and p.name != START)
