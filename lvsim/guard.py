"""The guard at every entry point (shims, the `lvsim` CLI, SimBackend): no Python traceback reaches a
user, and output leaves as bytes whatever the locale.

* `internal_error(exc)`: a bug in lvsim as one LVM-style line (LVM prints its own bugs as
  `  Internal error: ...`), exit code INTERNAL_ERROR_RC;
* `protect_std_fds()`: standard descriptors that are closed get /dev/null, so that no file lvsim opens
  (the state, its lock) can become the command's stdout; it says which were closed;
* `ByteStream`: a text stream over a file descriptor that writes what it is given as bytes (argv's
  undecodable bytes come back as they came in) and never raises: it remembers the first write error;
* `run_command()`: `dispatch.run` with any unexpected exception turned into an internal error.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import stat
import sys
from collections.abc import Mapping, Sequence
from typing import BinaryIO, TextIO

from lvsim import __version__
from lvsim.core.errors import ECMD_FAILED
from lvsim.core.model import State

INTERNAL_ERROR_RC = ECMD_FAILED
MAX_MESSAGE = 300  # characters of an exception's message in the internal-error line


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 3] + "..."


def internal_error(exc: BaseException) -> str:
    """The line (with newline) that reports a bug in lvsim: the exception, where it was raised, what to do."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:  # the innermost frame, without importing traceback
        tb = tb.tb_next
    where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}" if tb else ""
    message = _one_line(str(exc))
    return (
        f"  Internal error: lvsim {__version__}: {type(exc).__name__}{where}"
        f"{': ' + message if message else ''} (a bug in lvsim: please report it with the command line)\n"
    )


def encode(text: str) -> bytes:
    """Text as the bytes a C program would write: argv's undecodable bytes (surrogates) restored."""
    try:
        return text.encode(sys.getfilesystemencoding(), "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def protect_std_fds() -> set[int]:
    """Put /dev/null on each of fds 0, 1, 2 that is closed; return the closed ones."""
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
    for fd in sorted(closed):
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    return closed


class _SafeRaw(io.RawIOBase):
    """Writes to a descriptor; a failed write is remembered (first error) and the data dropped."""

    def __init__(self, fd: int, closed: bool = False) -> None:
        super().__init__()
        self.fd = fd
        self.error: OSError | None = OSError(9, os.strerror(9)) if closed else None  # EBADF

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        size = len(view)
        while view and self.error is None:
            try:
                view = view[os.write(self.fd, view) :]
            except InterruptedError:
                continue
            except OSError as exc:
                self.error = exc
        return size


class ByteStream(io.TextIOWrapper):
    """sys.stdout/sys.stderr replacement: writes through at once, never raises, `error` tells what failed."""

    def __init__(self, fd: int, closed: bool = False) -> None:
        self.raw_writer = _SafeRaw(fd, closed)
        super().__init__(
            io.BufferedWriter(self.raw_writer),
            encoding=sys.getfilesystemencoding(),
            errors="surrogateescape",
            write_through=True,
        )

    @property
    def error(self) -> OSError | None:
        return self.raw_writer.error

    def write(self, text: str) -> int:
        try:
            written = super().write(text)
        except UnicodeEncodeError:  # a character the locale's charset lacks: UTF-8 then
            self.buffer.write(text.encode("utf-8", "surrogateescape"))
            written = len(text)
        self.buffer.flush()  # at once: `error` tells what happened to this very write
        return written


def install_streams() -> tuple[ByteStream, ByteStream, set[int]]:
    """Protect fds 0-2 and replace sys.stdout and sys.stderr with ByteStreams; returns them and the
    descriptors that were closed when the process started."""
    closed = protect_std_fds()
    out, err = ByteStream(1, 1 in closed), ByteStream(2, 2 in closed)
    sys.stdout, sys.stderr = out, err
    return out, err, closed


def command_env(closed: set[int]) -> dict[str, str]:
    """The environment a command runs with, plus LVSIM_STDOUT when its stdout was closed ("closed")
    or is /dev/full ("full"): dd reports those as coreutils does."""
    env = dict(os.environ)
    env.pop("LVSIM_STDOUT", None)
    if 1 in closed:
        env["LVSIM_STDOUT"] = "closed"
    else:
        try:
            st = os.fstat(1)
        except OSError:
            return env
        if stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 7):
            env["LVSIM_STDOUT"] = "full"
    return env


def binary_stdin(closed: set[int]) -> BinaryIO:
    """Standard input as bytes (empty when it was closed)."""
    if 0 in closed or sys.stdin is None:
        return io.BytesIO(b"")
    return sys.stdin.buffer


def run_command(
    state: State,
    argv: Sequence[str],
    stdin: str | TextIO | BinaryIO = "",
    env: Mapping[str, str] | None = None,
) -> tuple[int, str, str, bool]:
    """Run one command line with the environment LVM reads (default: this process's, for
    LVM_SYSTEM_DIR); (rc, stdout, stderr, internal) where internal says a bug in lvsim stopped it."""
    from lvsim import dispatch

    try:
        outcome = dispatch.run(state, argv, stdin, os.environ if env is None else env)
    except Exception as exc:
        return INTERNAL_ERROR_RC, "", internal_error(exc), True
    return outcome.rc, outcome.stdout, outcome.stderr, False


def exit_status(rc: int, stdout_error: OSError | None) -> int:
    """The exit code once the (committed) command's output is written, as LVM 2.03.16 behaves
    (measured in the VM): a reader gone from the pipe kills it with SIGPIPE (the shell's 141); a
    closed stdout or a full device (/dev/full) goes unnoticed: the command's own code."""
    if stdout_error is not None and stdout_error.errno == errno.EPIPE:
        sys.stderr.flush()
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    return rc
