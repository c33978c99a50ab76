"""The saved simulator state: one JSON file, changed under a lock and replaced atomically.

Every command runs as a transaction: take an exclusive flock on `PATH.lock`,
read the state, run, and if anything changed write a temporary file, fsync it
and rename it over the old one.  Racing commands therefore serialise, and a
crash leaves either the old or the new state, never half of one.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lvsim.core.model import State

DEFAULT_STATE = "./.lvsim/state"


class StateError(Exception):
    """The state file cannot be used; the message says why."""


def default_path() -> Path:
    return Path(os.environ.get("LVSIM_STATE") or DEFAULT_STATE)


def load(path: Path) -> State:
    return _load_text(path)[0]


def _dump(state: State) -> str:
    return json.dumps(state.to_json(), separators=(",", ":"))


def _load_text(path: Path) -> tuple[State, str]:
    """The state and the text it was read from (the text a save of the unchanged state would write)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        state = State()
        return state, _dump(state)
    except OSError as exc:
        raise StateError(f"cannot read state file {path}: {exc.strerror}") from None
    try:
        return State.from_json(json.loads(text)), text
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StateError(f"state file {path} is corrupt ({exc.__class__.__name__}: {exc})") from None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def transaction(path: Path) -> Iterator[State]:
    """Lock the state, yield it, and save it if it changed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 (held across the yield)
    except OSError as exc:
        raise StateError(f"cannot use state file {path}: {exc.strerror}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state, before = _load_text(path)
        yield state
        data = sys.modules.get("lvsim.core.content")  # device content, if this run touched any
        if data is not None:
            data.flush(state, path.with_name(path.name + ".blobs"))
        after = _dump(state)
        if after != before:
            _write_atomic(path, after)
