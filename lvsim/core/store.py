"""The saved simulator state: one JSON file, changed under a lock and replaced atomically.

Every command runs as a transaction: take an flock on `PATH.lock` (shared for a command that only
reads, exclusive otherwise), read the state, run, and if anything changed write a temporary file,
fsync it and rename it over the old one.  Racing commands therefore serialise, and a crash leaves
either the old or the new state, never half of one.

The state lives beside files other users must not be able to plant: the directory must be private
(not writable by other users, owned by the caller or root), the lock and temporary files are opened
without following symbolic links, temporary files are created exclusively under an unguessable name
and removed when a save fails (`lvsim: cannot save state: ...`, the old state intact).  Stale
temporary files and blob files the saved state no longer references are swept under the lock.

A lock wait says who holds the lock and gives up after `LVSIM_LOCK_TIMEOUT` seconds (default
LOCK_TIMEOUT; 0 waits forever).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from lvsim.core.model import State

DEFAULT_STATE = "./.lvsim/state"
LOCK_TIMEOUT = 60.0  # seconds a command waits for the state lock (LVSIM_LOCK_TIMEOUT overrides)
LOCK_NOTICE_AFTER = 1.0  # seconds of waiting before saying who holds the lock
_BLOB_NAME = re.compile(r"[0-9a-f]{64}")


class StateError(Exception):
    """The state file cannot be used; the message says why."""


class ChangedUnderSharedLock(Exception):
    """A command run under a shared lock changed the state: run it again under the exclusive lock."""


def default_path() -> Path:
    return Path(os.environ.get("LVSIM_STATE") or DEFAULT_STATE)


def load(path: Path) -> State:
    return _load_text(path)[0]


def _dump(state: State) -> str:
    return json.dumps(state.to_json(), separators=(",", ":"))


def _load_text(path: Path) -> tuple[State, str]:
    """The state and the text it was read from (the text a save of the unchanged state would write)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        state = State()
        return state, _dump(state)
    except OSError as exc:
        raise StateError(f"cannot read state file {path}: {exc.strerror}") from None
    except ValueError as exc:  # not UTF-8
        raise StateError(f"state file {path} is corrupt ({exc.__class__.__name__}: {exc})") from None
    try:
        return State.from_json(json.loads(text)), text
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise StateError(f"state file {path} is corrupt ({exc.__class__.__name__}: {exc})") from None


# -- the state directory ------------------------------------------------------------------------


def check_private_dir(path: Path) -> None:
    """Refuse a state file in a directory other users can write to (they could plant files there)."""
    directory = path.parent
    try:
        st = os.stat(directory)
    except OSError as exc:
        raise StateError(f"cannot use state file {path}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise StateError(f"cannot use state file {path}: {os.strerror(errno.ENOTDIR)}")
    euid = os.geteuid()
    problem = ""
    if st.st_uid not in (euid, 0):
        problem = f"is owned by another user (uid {st.st_uid})"
    elif st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and st.st_gid != os.getegid()):
        problem = f"is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
    if problem:
        raise StateError(
            f"state directory {directory} {problem}; keep the state in a private directory "
            "(--state or LVSIM_STATE)"
        )


def _open_private(path: Path, flags: int) -> int:
    """Open a file of the state directory without following a symbolic link; it must be ours."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid not in (os.geteuid(), 0):
        os.close(fd)
        raise StateError(f"cannot use {path}: not a regular file of this user")
    return fd


# -- saving ---------------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (a new file, fsynced, renamed over it); on failure the old file stays
    and no temporary file is left behind."""
    tmp = path
    fd = -1
    try:
        for _ in range(100):
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                break
            except FileExistsError:
                continue
        else:
            raise OSError(errno.EEXIST, os.strerror(errno.EEXIST))
        try:
            _write_all(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fd = -2  # renamed: nothing to remove
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        if fd != -2 and tmp != path:
            with suppress(OSError):
                os.unlink(tmp)
        raise StateError(f"cannot save state: {path}: {exc.strerror or exc}") from None


def _sweep_temporaries(directory: Path, prefix: str) -> None:
    """Remove temporary files a killed save left (only the lock holder writes them, and we hold it)."""
    with suppress(OSError):
        for entry in os.scandir(directory):
            if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                with suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
                        os.unlink(entry.path)


def _saved_data(raw: dict[str, Any]) -> Any:
    """The saved form of a state's contents (its blob files named there), in a state file of any lvsim."""
    return raw.get("data") or raw.get("extra", {}).get("data")


def _sweep_blobs(blob_dir: Path, text: str) -> None:
    """Remove blob files the saved state (its JSON text) does not reference."""
    if not blob_dir.is_dir():
        return
    _sweep_temporaries(blob_dir, ".")
    try:
        data = _saved_data(json.loads(text)) or {}
        saved_dir = data.get("blobdir")
        referenced = {
            v[5:] for v in data.get("blobs", {}).values() if isinstance(v, str) and v.startswith("file:")
        }
    except (ValueError, AttributeError):
        return
    if saved_dir and Path(saved_dir) != blob_dir.resolve():
        return  # the state's blobs live elsewhere: this directory is not its to sweep
    with suppress(OSError):
        for entry in os.scandir(blob_dir):
            if _BLOB_NAME.fullmatch(entry.name) and entry.name not in referenced:
                with suppress(OSError):
                    if entry.is_file(follow_symlinks=False):
                        os.unlink(entry.path)


# -- locking --------------------------------------------------------------------------------------


def lock_timeout() -> float:
    """Seconds to wait for the lock: LVSIM_LOCK_TIMEOUT, or LOCK_TIMEOUT (0 or less: no limit)."""
    raw = os.environ.get("LVSIM_LOCK_TIMEOUT", "")
    try:
        return float(raw) if raw.strip() else LOCK_TIMEOUT
    except ValueError:
        return LOCK_TIMEOUT


def lock_holders(fd: int) -> list[str]:
    """'pid N (command line)' for each process holding an flock on the file open at fd (from /proc/locks)."""
    st = os.fstat(fd)
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    holders = []
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == inode and "->" not in fields:
            pid = fields[4]
            cmd = _command_line(pid)
            if "lvsim.shimserver" in cmd:  # a shim's command the server runs (its comm: lvsim@SHIM)
                with suppress(OSError):
                    comm = Path(f"/proc/{pid}/comm").read_text().strip()
                    if comm.startswith("lvsim@") and comm[6:].isdigit():
                        pid = comm[6:]
                        cmd = _command_line(pid)
            text = f"pid {pid}" + (f" ({cmd[:120]})" if cmd else "")
            if text not in holders:
                holders.append(text)
    return holders


def _command_line(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(os.fsdecode(a) for a in raw.split(b"\0") if a)


def _acquire(fd: int, path: Path, shared: bool) -> None:
    """flock the lock file; while another process holds it, say who (once) and give up at the timeout."""
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    timeout = lock_timeout()
    start = time.monotonic()
    told = False
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waited = time.monotonic() - start
        if timeout > 0 and waited >= timeout:
            holders = ", ".join(lock_holders(fd)) or "another process"
            raise StateError(
                f"gave up waiting for the state lock on {path} after {timeout:g} s (held by {holders}); "
                "LVSIM_LOCK_TIMEOUT sets the wait in seconds"
            )
        if not told and waited >= LOCK_NOTICE_AFTER:
            holders = ", ".join(lock_holders(fd)) or "another process"
            sys.stderr.write(f"lvsim: waiting for the state lock on {path} (held by {holders})\n")
            sys.stderr.flush()
            told = True
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


# The saved state a transaction holds, by State object: `checkpoint` saves it mid-command.
_OPEN: dict[int, Path] = {}


def _save(path: Path, state: State, before: str | None) -> str:
    """Flush device content, and write the state if it differs from `before`; returns its text."""
    data = sys.modules.get("lvsim.core.content")  # device content, if this run touched any
    blob_dir = path.with_name(path.name + ".blobs")
    if data is not None:
        try:
            data.flush(state, blob_dir)
        except OSError as exc:
            raise StateError(f"cannot save state: {blob_dir}: {exc.strerror or exc}") from None
    after = _dump(state)
    if after != before:
        _write_atomic(path, after)
        _sweep_blobs(blob_dir, after)
    return after


def checkpoint(state: State) -> None:
    """Save a state now, before the command goes on (a mount is on record before it writes files).
    No-op for a state no transaction holds (the simulator in memory)."""
    path = _OPEN.get(id(state))
    if path is not None:
        _save(path, state, None)


def _nothing_saved(path: Path) -> bool:
    """No state at path, and nothing in the way of saving one there later (the nearest existing
    ancestor is a directory)."""
    if os.path.lexists(path):
        return False
    ancestor = path.parent
    while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return ancestor.is_dir()


@contextmanager
def transaction(path: Path, *, shared: bool = False) -> Iterator[State]:
    """Lock the state, yield it, and save it if it changed.

    With `shared`, the lock is shared (for commands that only read) and nothing is saved: if the
    state did change, ChangedUnderSharedLock is raised so the caller can run again exclusively.
    """
    if shared and _nothing_saved(path):  # a command that only reads changes nothing
        yield State()
        return
    directory = path.parent
    try:
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot use state file {path}: {exc.strerror}") from None
    check_private_dir(path)
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = _open_private(lock_path, os.O_RDWR | os.O_CREAT)
    except OSError as exc:
        raise StateError(f"cannot use state file {path}: {exc.strerror}") from None
    try:
        _acquire(fd, path, shared)
        if not shared:
            _sweep_temporaries(directory, f".{path.name}.")
        state, before = _load_text(path)
        if not shared:
            _OPEN[id(state)] = path
        try:
            yield state
        finally:
            _OPEN.pop(id(state), None)
        if not shared:
            _save(path, state, before)
            return
        data = sys.modules.get("lvsim.core.content")
        if data is not None:
            data.flush(state, None)
        if _dump(state) != before:
            raise ChangedUnderSharedLock
    finally:
        os.close(fd)


def copy(src: Path, dst: Path) -> None:
    """Make the state `dst` a copy of the state `src`, the blob files it references linked into dst's
    own blob directory (each state locked in turn): save points of the pytest plugin."""
    import dataclasses

    from lvsim.core import content

    with transaction(src, shared=True):
        raw = json.loads(src.read_text(encoding="utf-8")) if src.exists() else State().to_json()
        saved = _saved_data(raw)
        if isinstance(saved, dict):
            content.relink(saved, dst.with_name(dst.name + ".blobs"))
    copied = State.from_json(raw)
    with transaction(dst) as state:
        for f in dataclasses.fields(State):
            setattr(state, f.name, getattr(copied, f.name))
