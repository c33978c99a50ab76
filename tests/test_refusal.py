"""Nothing is silently ignored: what lvsim does not emulate fails with one line and exit code 95."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from backends.sim import SimBackend
from lvsim.core.errors import NOT_EMULATED
from lvsim.core.model import MiB
from lvsim.lvm.table import emulated, lookup
from lvsim.lvm.table.lvm2_fields import REPORT_FIELDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sim() -> SimBackend:
    backend = SimBackend()
    backend.add_disk(100 * MiB)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 8M -n a vg"):
        assert backend.run(shlex.split(cmd)).rc == 0
    return backend


def _state(sim: SimBackend) -> str:
    return sim.run(shlex.split("lvs -a -o lv_name,lv_attr,lv_size,lv_tags,vg_seqno")).stdout


@pytest.mark.parametrize(
    ("cmd", "line"),
    [
        (
            "lvchange --persistent y --minor 250 vg/a",
            "lvsim: lvchange --persistent y --minor (Make the minor device number persistent for an LV.)"
            " is not emulated",
        ),
        ("lvcreate --major 250 -L 4M -n b vg", "lvsim: lvcreate --major is not emulated"),
        (
            "lvcreate -Zn -L 4M -n b vg",
            "lvsim: lvcreate --zero with lvcreate --size (Create a linear LV.) is not emulated",
        ),
        ("lvextend -r -L +4M vg/a", "lvsim: lvextend --resizefs is not emulated"),
        ("lvs --foreign", "lvsim: lvs --foreign is not emulated"),
        ("lvs -v -d", "lvsim: lvs --debug is not emulated"),
        ("lvcreate --type raid1 -m 1 -L 4M -n r vg", "lvsim: lvcreate --type raid1 --size (Create a raid LV"),
        ("lvs --longhelp", "lvsim: lvs --longhelp is not emulated"),
        ("pvmove /dev/loop0", "lvsim: pvmove is not emulated"),
        ("lvm vgsplit vg vg2 /dev/loop0", "lvsim: vgsplit is not emulated"),
        ("lvm segtypes", "lvsim: segtypes is not emulated"),
    ],
)
def test_refused_before_doing_anything(sim: SimBackend, cmd: str, line: str) -> None:
    before = _state(sim)
    out = sim.run(shlex.split(cmd))
    assert (out.rc, out.stdout) == (NOT_EMULATED, "")
    assert out.stderr.startswith(line) and out.stderr.endswith(" is not emulated\n"), out.stderr
    assert out.stderr.count("\n") == 1
    assert _state(sim) == before


def test_lvm_syntax_errors_come_before_refusal(sim: SimBackend) -> None:
    """A command line LVM itself rejects gets LVM's answer (exit 3, core-syntax), not lvsim's refusal."""
    out = sim.run(shlex.split("lvcreate -L 4M -n b --discards ignore vg"))
    assert (out.rc, out.stderr) == (3, "  Command does not accept option: --discards ignore.\n")
    out = sim.run(shlex.split("lvchange --bogus vg/a"))
    assert out.rc == 3 and "unrecognized option '--bogus'" in out.stderr


def test_refused_report_field(sim: SimBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulated, "FIELDS", emulated.FIELDS - {"lv_size"})
    for cmd in ("lvs -o lv_name,lv_size", "lvs -o lv_name -O lv_size", "lvs -o lv_name -S lv_size>1m"):
        out = sim.run(shlex.split(cmd))
        assert (out.rc, out.stdout, out.stderr) == (
            NOT_EMULATED,
            "",
            "lvsim: lvs field lv_size is not emulated\n",
        )
    assert sim.run(shlex.split("lvs -o lv_name")).rc == 0


def test_every_field_lvsim_shows_is_emulated(sim: SimBackend) -> None:
    """`-o all` would show every field: it is refused exactly when one of them is not emulated."""
    out = sim.run(shlex.split("lvs -o all"))
    refused = [f.name for f in REPORT_FIELDS if f.name not in emulated.FIELDS]
    if refused:
        assert out.rc == NOT_EMULATED and "lvsim: lvs field " in out.stderr
    else:
        assert out.rc == 0


def test_refused_programs_have_shims_that_never_run_the_host_binary(tmp_path: Path) -> None:
    shims, host = tmp_path / "shims", tmp_path / "host"
    out = subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "shims", str(shims)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert {p.name for p in shims.iterdir()} >= {*lookup.programs(), "lvm"}
    host.mkdir()
    marker = tmp_path / "host-binary-ran"
    for name in ("pvmove", "vgsplit", "lvmdiskscan"):
        (host / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (host / name).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shims}:{host}:{os.environ['PATH']}",
        "LVSIM_STATE": str(tmp_path / "state"),
    }
    for name in ("pvmove", "vgsplit", "lvmdiskscan"):
        out = subprocess.run([name, "--help"], env=env, capture_output=True, text=True)
        assert (out.returncode, out.stdout, out.stderr) == (
            NOT_EMULATED,
            "",
            f"lvsim: {name} is not emulated\n",
        )
    assert not marker.exists()


def test_exit_code_is_documented() -> None:
    assert NOT_EMULATED == 95
    for doc in ("README.md", "COVERAGE.md"):
        assert "95" in (ROOT / doc).read_text(), doc
