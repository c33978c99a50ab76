"""SimBackend: the simulator behind the Backend interface (no root, no devices)."""

from __future__ import annotations

from collections.abc import Sequence

from lvsim import dispatch
from lvsim.backend import Backend, Result
from lvsim.core.model import Disk, State
from lvsim.tools.losetup import free_loop


class SimBackend(Backend):
    """Runs everything against an in-memory `State` (pass one in to share or inspect it)."""

    name = "sim"

    def __init__(self, state: State | None = None) -> None:
        self.state = state or State()

    def add_disk(self, size: int) -> str:
        device = free_loop(self.state)
        self.state.disks[device] = Disk(device, size, backing_file=f"/lvsim/{device[5:]}.img")
        return device

    def run(self, argv: Sequence[str], stdin: str = "") -> Result:
        out = dispatch.run(self.state, argv, stdin)
        return Result(tuple(argv), out.rc, out.stdout, out.stderr)

    def write(self, device: str, offset: int, data: bytes) -> None:
        from lvsim.core import datapath

        datapath.write(self.state, device, offset, data)

    def read(self, device: str, offset: int, length: int) -> bytes:
        from lvsim.core import datapath

        return datapath.read(self.state, device, offset, length)

    def discard(self, device: str, offset: int, length: int) -> None:
        from lvsim.core import datapath

        datapath.discard(self.state, device, offset, length)

    def close(self) -> None:
        self.state = State()
