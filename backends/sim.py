"""SimBackend: the simulator behind the Backend interface (no root, no devices)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from lvsim import dispatch
from lvsim.backend import Backend, Result
from lvsim.core.model import Disk, State
from lvsim.tools.losetup import free_loop


class SimBackend(Backend):
    """Runs everything against an in-memory `State` (pass one in to share or inspect it), or, with
    `state_path`, against a saved state file that shims share: each call is one locked transaction."""

    name = "sim"

    def __init__(self, state: State | None = None, *, state_path: str | Path | None = None) -> None:
        self.state = state or State()
        self.state_path = Path(state_path).resolve() if state_path is not None else None

    @contextmanager
    def _session(self) -> Iterator[State]:
        if self.state_path is None:
            yield self.state
            return
        from lvsim.core import store

        with store.transaction(self.state_path) as state:
            yield state

    def environment(self) -> dict[str, str]:
        return {"LVSIM_STATE": str(self.state_path)} if self.state_path is not None else {}

    def add_disk(self, size: int) -> str:
        with self._session() as state:
            device = free_loop(state)
            state.disks[device] = Disk(device, size, backing_file=f"/lvsim/{device[5:]}.img")
        return device

    def run(self, argv: Sequence[str], stdin: str = "") -> Result:
        with self._session() as state:
            out = dispatch.run(state, argv, stdin)
        return Result(tuple(argv), out.rc, out.stdout, out.stderr)

    def write(self, device: str, offset: int, data: bytes) -> None:
        from lvsim.core import datapath

        with self._session() as state:
            datapath.write(state, device, offset, data)

    def read(self, device: str, offset: int, length: int) -> bytes:
        from lvsim.core import datapath

        with self._session() as state:
            return datapath.read(state, device, offset, length)

    def discard(self, device: str, offset: int, length: int) -> None:
        from lvsim.core import datapath

        with self._session() as state:
            datapath.discard(state, device, offset, length)

    def close(self) -> None:
        self.state = State()
