"""SimBackend: the simulator behind the Backend interface (no root, no devices)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from lvsim import dispatch, guard
from lvsim.backend import Backend, Result
from lvsim.core.model import Disk, State
from lvsim.tools.losetup import free_loop


class SimBackend(Backend):
    """Runs everything against an in-memory `State` (pass one in to share or inspect it), or, with
    `state_path`, against a saved state file that shims share: each call is one locked transaction."""

    name = "sim"

    def __init__(
        self,
        state: State | None = None,
        *,
        state_path: str | Path | None = None,
        lvm_system_dir: str | Path | None = None,
    ) -> None:
        self.state = state or State()
        self.state_path = Path(state_path).resolve() if state_path is not None else None
        # LVM_SYSTEM_DIR of the commands (a directory whose lvm.conf they read); without one, they read
        # the simulated /etc/lvm/lvm.conf that set_lvm_conf keeps in the state
        self.lvm_system_dir = Path(lvm_system_dir) if lvm_system_dir is not None else None

    @contextmanager
    def _session(self) -> Iterator[State]:
        if self.state_path is None:
            yield self.state
            return
        from lvsim.core import store

        with store.transaction(self.state_path) as state:
            yield state

    def environment(self) -> dict[str, str]:
        env = {"LVSIM_STATE": str(self.state_path)} if self.state_path is not None else {}
        return {**env, **self._lvm_env()}

    def _lvm_env(self) -> dict[str, str]:
        return {"LVM_SYSTEM_DIR": str(self.lvm_system_dir)} if self.lvm_system_dir is not None else {}

    def set_lvm_conf(self, text: str) -> None:
        if self.lvm_system_dir is not None:
            (self.lvm_system_dir / "lvm.conf").write_text(text)
            return
        with self._session() as state:
            state.lvm_conf = text  # the simulated /etc/lvm/lvm.conf (lvsim.core.config)

    def wait(self, seconds: float) -> None:
        """The simulated clock moves on; dmeventd and simulated applications do what fell due meanwhile."""
        with self._session() as state:
            state.clock += seconds
            dispatch.catch_up(state)

    def add_disk(self, size: int) -> str:
        with self._session() as state:
            device = free_loop(state)
            state.disks[device] = Disk(device, size, backing_file=f"/lvsim/{device[5:]}.img")
        return device

    def run(self, argv: Sequence[str], stdin: str = "") -> Result:
        with self._session() as state:  # behind lvsim's guard: a bug is an internal-error line, rc 5
            rc, stdout, stderr, _ = guard.run_command(state, argv, stdin, self._lvm_env())
        return Result(tuple(argv), rc, stdout, stderr)

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
