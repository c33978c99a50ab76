"""The saved state: racing shim calls lose nothing; bad state files give clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lvsim.core import store
from lvsim.core.model import Disk, State


def _shims(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    bin_dir = tmp_path / "bin"
    subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "shims", str(bin_dir)], check=True, capture_output=True
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LVSIM_STATE": str(tmp_path / "state")}
    return bin_dir, env


def test_racing_lvcreates_lose_no_update(tmp_path: Path) -> None:
    _, env = _shims(tmp_path)
    img = tmp_path / "pv.img"
    img.write_bytes(b"")
    os.truncate(img, 300 * 2**20)
    script = f"""
set -e
dev=$(losetup -f --show {img})
vgcreate vg "$dev" >/dev/null
for i in $(seq 1 12); do lvcreate -L 4M -n l$i vg >/dev/null & done
wait
lvs --noheadings -o lv_name vg | wc -l
"""
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "12"
    state = json.loads((tmp_path / "state").read_text())
    assert sorted(state["vgs"]["vg"]["lvs"]) == sorted(f"l{i}" for i in range(1, 13))


def test_corrupt_state_is_a_clear_error(tmp_path: Path) -> None:
    _, env = _shims(tmp_path)
    (tmp_path / "state").write_text('{"vgs": {"vg": {"name": ')
    out = subprocess.run(["lvs"], env=env, capture_output=True, text=True)
    assert out.returncode == 5
    assert out.stderr.startswith(f"lvsim: state file {tmp_path / 'state'} is corrupt")
    assert "Traceback" not in out.stderr


def test_unusable_state_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "exec", "--state", str(blocker / "state"), "--", "lvs"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 5
    assert "cannot use state file" in out.stderr and "Traceback" not in out.stderr


def test_failed_command_does_not_write(tmp_path: Path) -> None:
    path = tmp_path / "state"
    with store.transaction(path) as state:
        state.disks["/dev/vdb"] = Disk("/dev/vdb", 2**30)
    before = path.read_bytes()
    with pytest.raises(RuntimeError), store.transaction(path) as state:
        state.disks.clear()
        raise RuntimeError("boom")
    assert path.read_bytes() == before


def test_state_round_trips(tmp_path: Path) -> None:
    from lvsim import dispatch

    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 300 * 2**20)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 8M -n a vg", "lvcreate -l 10%FREE vg"):
        assert dispatch.run(state, cmd.split()).rc == 0
    path = tmp_path / "state"
    with store.transaction(path) as saved:
        saved.__dict__.update(state.__dict__)
    assert store.load(path).to_json() == state.to_json()
