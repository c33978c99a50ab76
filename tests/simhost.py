"""`SimHost`: the simulator in this process, as the `sim` fixture (tests/conftest.py) hands it out."""

from __future__ import annotations

import shlex

from backends.sim import SimBackend
from lvsim.backend import Result
from lvsim.core import alloc
from lvsim.core.model import LV, LVKind, State


class SimHost:
    """Loop disks of the given sizes (/dev/loop0, /dev/loop1, ...) on a fresh simulator (or on `state`); command lines
    run as the shims run them, with their exit codes checked where a test says what it expects."""

    def __init__(self, *disks: int, state: State | None = None) -> None:
        self.backend = SimBackend(state)
        self.devices = [self.backend.add_disk(size) for size in disks]

    @property
    def state(self) -> State:
        return self.backend.state

    def __call__(self, *argv: str, stdin: str = "", rc: int = 0) -> Result:
        """Run argv; it must exit with `rc`."""
        res = self.backend.run(list(argv), stdin)
        assert res.rc == rc, (argv, res.rc, res.stdout, res.stderr)
        return res

    def run(self, cmd: str, stdin: str = "") -> Result:
        """Run a command line (split as the shell would), whatever its exit code."""
        return self.backend.run(shlex.split(cmd), stdin)

    def ok(self, cmd: str, stdin: str = "") -> Result:
        """Run a command line that must succeed."""
        return self(*shlex.split(cmd), stdin=stdin)

    def out(self, cmd: str) -> str:
        """The standard output of a command line that must succeed."""
        return self.ok(cmd).stdout

    def with_vg(self, options: str = "", name: str = "vg") -> SimHost:
        """Every disk made a PV of a new VG (vgcreate OPTIONS NAME DISK...)."""
        disks = " ".join(self.devices)
        self.ok(f"pvcreate {disks}")
        self.ok(f"vgcreate {options} {name} {disks}")
        return self

    def lv(self, name: str, vg: str = "vg") -> LV:
        return self.state.vgs[vg].lvs[name]

    def free(self, vg: str = "vg") -> int:
        """The VG's free extents."""
        return alloc.vg_free_count(self.state, self.state.vgs[vg])

    def layout(self, vg: str = "vg") -> dict[str, int]:
        """Extents of each LV that takes them from the VG (thin volumes take none)."""
        return {n: lv.le_count for n, lv in self.state.vgs[vg].lvs.items() if lv.kind != LVKind.THIN}

    def rows(self, options: str) -> dict[str, list[str]]:
        """`lvs --noheadings --separator '|' OPTIONS` as {first column: the other columns}."""
        table = [
            line[2:].split("|")
            for line in self.out(f"lvs --noheadings --separator '|' {options}").splitlines()
        ]
        return {row[0]: row[1:] for row in table}
