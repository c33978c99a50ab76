"""The entry point of the command shims that `lvsim shims DIR` writes.

Kept free of heavy imports: a shim call is one interpreter start, one locked read of the state, one
emulated command and (if the state changed) one write.  Commands that only read (lvs, vgs, pvs,
blkid) take the lock shared, and run again under the exclusive lock if they turn out to change the
state (a mounted directory's writeback).

The guard (`lvsim.guard`): no traceback, output as bytes, a bug reported as LVM reports its own
(`  Internal error: ...`, exit code 5) with the state left as it was.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

# Commands that never change the state by themselves (only the writeback of a mount might).
READ_ONLY = frozenset({"lvs", "vgs", "pvs", "blkid", "mountpoint", "findmnt"})
DMSETUP_READS = frozenset({"ls", "info", "table", "status", "deps", "version", "targets"})
SHIM_MARKER = "from lvsim.shim import main"
# The longest interpreter path put on a #! line (the kernel reads at most 255 bytes of it).
MAX_SHEBANG = 200


class _Rollback(Exception):
    """An internal error in the command: leave the state unsaved."""

    def __init__(self, result: tuple[int, str, str, bool]) -> None:
        super().__init__()
        self.result = result


def _command(argv: list[str]) -> str:
    name = argv[0]
    return argv[1] if name == "lvm" and len(argv) > 1 else name


def read_only(argv: list[str]) -> bool:
    """Whether a command line only reads: reports, blkid, mountpoint, findmnt, dmsetup's listings."""
    name = _command(argv)
    if name == "dmsetup":
        words = [w for w in argv[1:] if not w.startswith("-")]
        return bool(words) and words[0] in DMSETUP_READS
    return name in READ_ONLY


def state_path(pinned: str | None, explicit: bool) -> Path:
    """The state a shim uses: an explicit --state of `lvsim shims`, else $LVSIM_STATE, else the
    default that `lvsim shims` resolved to an absolute path when it wrote the shim."""
    from lvsim.core import store

    if pinned and (explicit or not os.environ.get("LVSIM_STATE")):
        return Path(pinned)
    return store.default_path()


def run_saved(
    path: Path, argv: list[str], stdin: BinaryIO, env: Mapping[str, str] | None = None
) -> tuple[int, str, str, bool]:
    """Run a command line on the saved state at path with the environment it sees (default: this
    process's): (rc, stdout, stderr, internal error?).

    An internal error leaves the state unsaved; StateError when the state cannot be used."""
    from lvsim import guard
    from lvsim.core import store

    if read_only(argv):
        try:
            with store.transaction(path, shared=True) as state:
                result = guard.run_command(state, argv, stdin, env)
                if result[3]:
                    raise _Rollback(result)
            return result
        except store.ChangedUnderSharedLock:
            pass
        except _Rollback as rollback:
            return rollback.result
    try:
        with store.transaction(path) as state:
            result = guard.run_command(state, argv, stdin, env)
            if result[3]:
                raise _Rollback(result)
    except _Rollback as rollback:
        return rollback.result
    return result


def main(pinned: str | None = None, explicit: bool = True) -> int:
    from lvsim import guard

    out, err, closed = guard.install_streams()
    try:
        from lvsim.core import store

        argv = [os.path.basename(sys.argv[0]), *sys.argv[1:]]
        try:
            env = guard.command_env(closed)
            rc, stdout, stderr, _ = run_saved(
                state_path(pinned, explicit), argv, guard.binary_stdin(closed), env
            )
        except store.StateError as exc:
            err.write(f"lvsim: {exc}\n")
            return 5
        out.write(stdout)
        err.write(stderr)
        return guard.exit_status(rc, out.error)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return 130
    except Exception as exc:
        err.write(guard.internal_error(exc))
        return guard.INTERNAL_ERROR_RC


def server_key(interpreter: str, home: str) -> str:
    """What names the command server of an interpreter and an lvsim (its root directory)."""
    import hashlib

    from lvsim import shimclient

    return hashlib.sha256(f"{shimclient.PROTOCOL}\0{interpreter}\0{home}".encode()).hexdigest()[:20]


def _shim_text(interpreter: str, home: str, pinned: str, explicit: bool) -> str:
    """A shim: Python code run by the absolute interpreter that wrote it (never one found on PATH).

    It hands its command to the command server (`lvsim.shimclient`, the only module of lvsim it
    imports then); when none takes it, it starts one and runs the command itself."""
    key = server_key(interpreter, home)
    body = (
        f"import sys\nsys.path.insert(0, {home!r})\n"
        "try:\n"
        "    from lvsim.shimclient import served, start_server\n"
        f"    _code = served({key!r}, {pinned!r}, {explicit!r})\n"
        "    if _code is not None:\n"
        "        import posix\n"
        "        posix._exit(_code)  # nothing to flush, nothing to clean up\n"
        f"    start_server({key!r}, {interpreter!r}, {home!r})\n"
        f"    {SHIM_MARKER}\n"
        "except Exception as exc:\n"
        "    if sys.stderr is not None:\n"
        f"        sys.stderr.write('lvsim: cannot load lvsim from ' + {home!r} + ' (%s: %s); "
        "run `lvsim shims` again\\n' % (type(exc).__name__, exc))\n"
        "    sys.exit(5)\n"
        f"sys.exit(main({pinned!r}, {explicit!r}))\n"
    )
    if len(interpreter) <= MAX_SHEBANG and not any(c.isspace() for c in interpreter):
        # -I ignores PYTHON* variables (no other lvsim can slip in), -S skips site (and the
        # editable-install finder): the shim needs only the standard library and its own lvsim.
        return f"#!{interpreter} -IS\n{body}"
    # A path #! cannot hold: sh runs the file first (for Python, those lines are a string literal).
    import shlex  # only here: a shim call does not need it

    sh_part = f'exec {shlex.quote(interpreter)} -I -S "$0" "$@"'
    return "#!/bin/sh\n''':'\n" + sh_part + "\n'''\n" + body


def write_shims(directory: Path, state: Path | None = None) -> int:
    """Write an executable shim into `directory` for every emulated command; return how many.

    Each shim runs this very interpreter (an absolute path) and uses an absolute state path: `state`
    if given, else $LVSIM_STATE when the shim runs, else the default (./.lvsim/state) resolved now,
    so that a script that changes directory still sees the same state.  A file in the way that is
    not an lvsim shim is never overwritten.
    """
    from lvsim import dispatch
    from lvsim.core import store

    interpreter = sys.executable
    if not interpreter or not os.path.isabs(interpreter) or not os.access(interpreter, os.X_OK):
        raise OSError(f"the Python interpreter {interpreter!r} is not an absolute path to a program")
    explicit = state is not None
    pinned = str((state or store.default_path()).absolute())
    home = str(Path(__file__).resolve().parent.parent)
    text = _shim_text(interpreter, home, pinned, explicit)
    directory.mkdir(parents=True, exist_ok=True)
    names = dispatch.command_names()
    for name in names:
        path = directory / name
        _check_replaceable(path)
    for name in names:
        path = directory / name
        tmp = directory / f".{name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o755)
        try:
            with open(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o755)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    return len(names)


def _check_replaceable(path: Path) -> None:
    """Only a missing file or an earlier lvsim shim may be replaced by a shim."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                if SHIM_MARKER in f.read(4096):
                    return
        except OSError:
            pass
    raise OSError(f"{path} exists and is not an lvsim shim: not replacing it")
