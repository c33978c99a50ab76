"""The backend interface.

Like httpx's transports, a backend is one small object that does one thing:
it takes LVM work (a disk to make, a command line to run, bytes to write) and
carries it out somewhere, returning what came back.  Everything above it
(scenarios, the renderer's equivalence checks, the golden transcripts, the
differential tests) talks only to this interface.

Implementations live outside lvsim, in the top-level `backends` package: `backends.sim.SimBackend`
(the simulator, no root) and `backends.real.RealBackend` (loop devices and the real LVM tools, root
only).  lvsim never imports them: it finds a backend by name through the `lvsim.backends` entry-point
group (pyproject.toml), so a third backend needs only the abstract methods below and an entry point.
"""

from __future__ import annotations

import abc
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from typing import Any, ClassVar

ENTRY_POINTS = "lvsim.backends"


@dataclass(frozen=True)
class Result:
    """What one command line gave back."""

    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def cmdline(self) -> str:
        return shlex.join(self.argv)


class Backend(abc.ABC):
    """Where LVM work happens.  Use as a context manager: leaving it cleans up."""

    name: ClassVar[str]

    @abc.abstractmethod
    def add_disk(self, size: int) -> str:
        """Create a blank block device of `size` bytes and return its path (e.g. /dev/loop0)."""

    @abc.abstractmethod
    def run(self, argv: Sequence[str], stdin: str = "") -> Result:
        """Run one command line (an LVM command, dd, blkdiscard, ...) and return its result."""

    @abc.abstractmethod
    def write(self, device: str, offset: int, data: bytes) -> None:
        """Write bytes at a byte offset of a block device (O_DIRECT semantics, no caching)."""

    @abc.abstractmethod
    def read(self, device: str, offset: int, length: int) -> bytes:
        """Read bytes from a block device."""

    @abc.abstractmethod
    def discard(self, device: str, offset: int, length: int) -> None:
        """Discard (TRIM) a byte range of a block device."""

    @abc.abstractmethod
    def close(self) -> None:
        """Remove everything this backend created.  Safe to call twice."""

    def set_lvm_conf(self, text: str) -> None:
        """Settings LVM reads from lvm.conf (LVM's syntax) for the commands run from now on, on top of
        whatever the backend itself needs there."""
        raise NotImplementedError(f"the {self.name} backend cannot set lvm.conf")

    def wait(self, seconds: float) -> None:
        """Let `seconds` pass: what happens with time (dmeventd's autoextend, a queued write's timeout)
        happens. Real time on real LVM; the simulated clock on the simulator."""
        raise NotImplementedError(f"the {self.name} backend cannot wait")

    def environment(self) -> dict[str, str]:
        """What another program needs in its environment to work on this backend's devices with the
        usual commands (the simulator's state file, real LVM's device filter); empty if nothing."""
        return {}

    def report(self, kind: str, *args: str) -> list[dict[str, str]]:
        """Rows of `lvs`/`vgs`/`pvs` (kind = lv, vg or pv) as dicts, read with --reportformat json."""
        result = self.run([f"{kind}s", "--reportformat", "json", *args])
        if result.rc != 0:
            raise RuntimeError(f"{result.cmdline} failed ({result.rc}): {result.stderr.strip()}")
        return json.loads(result.stdout)["report"][0][kind]

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class BackendUnavailable(RuntimeError):
    """A backend cannot run here (e.g. real LVM without root), or none is registered by that name."""


def backend_class(name: str) -> type[Backend]:
    """The backend registered as `name` in the `lvsim.backends` entry-point group."""
    found = [ep for ep in metadata.entry_points(group=ENTRY_POINTS) if ep.name == name]
    if not found:
        raise BackendUnavailable(
            f"no backend {name!r} in the {ENTRY_POINTS!r} entry points (is lvsim installed? pip install -e .)"
        )
    cls = found[0].load()
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendUnavailable(f"entry point {ENTRY_POINTS}:{name} is not a Backend: {cls!r}")
    return cls


def open_backend(name: str, **options: Any) -> Backend:
    """A fresh backend by name ("sim", "real"), created with `options`."""
    return backend_class(name)(**options)
