"""`lvsim show`'s picture, snapshot-tested: tests/snapshots/picture-*.txt hold what it must print.

LVSIM_UPDATE_SNAPSHOTS=1 rewrites them (then read the diff before committing it).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from backends.sim import SimBackend
from lvsim.training import commands, picture

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _machine(steps: list[str], conf: str = "") -> SimBackend:
    sim = SimBackend()
    sim.add_disk(1 << 30)
    if conf:
        sim.set_lvm_conf(conf)
    for step in steps:
        result = sim.run(step.split())
        assert result.rc == 0, f"{step}: {result.stderr}"
    return sim


def _render(sim: SimBackend, color: bool) -> str:
    out = io.StringIO()
    console = commands.console(out, color)
    policy = commands.policy_of(sim.state, sim.environment())
    for line in picture.render(picture.collect(sim.report), policy):
        console.print(line, overflow="ellipsis", no_wrap=True)
    return out.getvalue()


def _compare(name: str, text: str) -> None:
    path = SNAPSHOTS / f"picture-{name}.txt"
    if os.environ.get("LVSIM_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"the picture changed; LVSIM_UPDATE_SNAPSHOTS=1 rewrites {path}"


MACHINES = {
    "overcommitted": (
        [
            "vgcreate vg /dev/loop0",
            "lvcreate -L 100M -T vg/pool",
            "lvcreate -V 200M -T vg/pool -n web",
            "lvcreate -V 200M -T vg/pool -n db",
            "dd if=/dev/urandom of=/dev/vg/web bs=1M count=60 oflag=direct status=none",
            "dd if=/dev/urandom of=/dev/vg/db bs=1M count=25 oflag=direct status=none",
            "lvcreate -s vg/db -n db_snap",
            "lvcreate -L 40M -n legacy vg",
            "lvcreate -s -L 8M -n legacy_snap vg/legacy",
            "dd if=/dev/urandom of=/dev/vg/legacy bs=1M count=7 oflag=direct status=none",
        ],
        "",
    ),
    "autoextend": (
        [
            "vgcreate vg /dev/loop0",
            "lvcreate -L 40M -T vg/pool --errorwhenfull y",
            "lvcreate -V 100M -T vg/pool -n data",
            "dd if=/dev/urandom of=/dev/vg/data bs=1M count=40 oflag=direct status=none",
            "lvcreate -L 20M -n lin vg",
            "lvcreate -s -L 4M -n gone vg/lin",
            "dd if=/dev/urandom of=/dev/vg/lin bs=1M count=8 oflag=direct status=none",
        ],
        "activation {\n\tthin_pool_autoextend_threshold = 70\n\tthin_pool_autoextend_percent = 20\n}\n",
    ),
}


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_picture(name: str) -> None:
    steps, conf = MACHINES[name]
    with _machine(steps, conf) as sim:
        _compare(name, _render(sim, color=False))
        _compare(f"{name}-color", _render(sim, color=True))


def test_no_vgs() -> None:
    with SimBackend() as sim:
        assert "No volume groups." in _render(sim, color=False)
