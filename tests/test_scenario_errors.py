"""What a scenario's failure says: the failing command's own stderr, and name checks that do not depend
on which of lvsim's modules happen to be loaded (each run here is a fresh `lvsim` process)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BAD_NAME = """\
name: bad-names
description: a VG name LVM refuses
vars:
  vg: "bad/vg"
disks:
  pv1: 64M
steps:
  - run: vgcreate ${vg} ${disk.pv1}
"""

SMALL_XFS = """\
name: small-xfs
description: an XFS too small for mkfs.xfs
disks:
  pv1: 64M
steps:
  - run: vgcreate vg ${disk.pv1}
  - run: lvcreate -L 12M -n small vg
  - mkfs: {device: /dev/vg/small, type: xfs}
"""


# The ways in: python -m lvsim.cli, and the `lvsim` command the package installs beside the interpreter.
ENTRIES = {
    "module": [sys.executable, "-m", "lvsim.cli"],
    "script": [str(Path(sys.executable).parent / "lvsim")],
}


def _lvsim(tmp_path: Path, *args: str, entry: str = "module") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ENTRIES[entry], *args], capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_render_checks_names_in_a_fresh_process(tmp_path: Path, entry: str) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_NAME)
    out = _lvsim(tmp_path, "render", "bad.yaml", "-o", "bad.sh", entry=entry)
    assert (out.returncode, out.stderr) == (
        2,
        "lvsim: bad.yaml:8: step 1: variable ${vg} = 'bad/vg' gives the VG name 'bad/vg', which LVM refuses: "
        "Name contains invalid character, valid set includes: [a-zA-Z0-9.-_+]. (nothing rendered)\n",
    )
    assert not (tmp_path / "bad.sh").exists()
    out = _lvsim(tmp_path, "render", "bad.yaml", "-o", "bad.sh", "--var", "vg=good", entry=entry)
    assert out.returncode == 0, out.stderr
    out = _lvsim(tmp_path, "plan", "bad.yaml", entry=entry)  # the plan shows vgcreate's own refusal
    assert out.returncode == 1
    assert (
        "step 1 (bad.yaml:8): vgcreate bad/vg /dev/loop0: expected rc 0, got 3\n"
        "  Name contains invalid character, valid set includes: [a-zA-Z0-9.-_+].\n"
        '  New volume group name "bad/vg" is invalid.\n'
    ) in out.stdout


def test_failures_show_the_commands_stderr(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(SMALL_XFS)
    said = "mkfs.xfs -q /dev/vg/small: expected rc 0, got 1\n{p}  Filesystem must be larger than 300MB.\n"
    out = _lvsim(tmp_path, "render", "small.yaml", "-o", "small.sh")
    assert out.returncode == 2
    assert said.format(p="lvsim: ") in out.stderr
    out = _lvsim(tmp_path, "plan", "small.yaml")
    assert out.returncode == 1
    assert said.format(p="") in out.stdout
    assert "(25 more lines)" in out.stdout  # mkfs.xfs's usage text is not repeated in full


def test_dry_run_checks_the_host(tmp_path: Path) -> None:
    """--dry-run makes the read-only preflight checks: a device that is not there fails it."""
    from rendered_scripts import host_env, make_shims, render_path, run_script, write_scenario

    script = render_path(
        write_scenario(tmp_path, SMALL_XFS.replace("12M", "400M").replace("64M", "512M")), tmp_path
    )
    env = host_env(tmp_path, make_shims(tmp_path))
    env["PATH"] += f":{Path(shutil.which('blockdev') or '/sbin/blockdev').parent}"
    result = run_script(script, env, "--dry-run", "--disk", "pv1=/dev/lvsim-no-such-disk")
    assert result.returncode == 1
    assert "ERROR: preflight: disk pv1: /dev/lvsim-no-such-disk is not a block device" in result.stderr
    assert "+ vgcreate" not in result.stderr
