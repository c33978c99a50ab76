"""Rendered scripts on a simulated host: rendering scenarios, the shims' environment, running scripts
and reading what they left (shared by the render and failure-injection tests)."""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from scenario_observe import file_hashes
from typer.testing import CliRunner

from backends.sim import SimBackend
from lvsim import dispatch
from lvsim.backend import Backend
from lvsim.cli import app
from lvsim.core import devmap, fsimage, store
from lvsim.core.model import State
from lvsim.scenarios import Runner, load, render

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SHELLCHECK = Path(sys.executable).parent / "shellcheck"
HOST_TOOLS = (
    "bash",
    "env",
    "mktemp",
    "rm",
    "rmdir",
    "mkdir",
    "cat",
    "cp",
    "diff",
    "truncate",
    "mkfifo",
    "bc",
)
HOST_TOOLS += ("awk", "test")
INJECTABLE_HOST_TOOLS = ("mktemp", "mkdir", "rmdir", "cp", "truncate")
READ_ONLY = {"lvs", "vgs", "pvs", "blkid", "lvm"}
LV_FIELDS = (
    "vg_name,lv_name,lv_attr,lv_size,segtype,pool_lv,origin,data_percent,metadata_percent,snap_percent"
)
VG_FIELDS = "vg_name,pv_count,lv_count,snap_count,vg_size,vg_free,vg_extent_count,vg_free_count"

BASIC = """\
name: render-basic
description: |
  A thin pool, a thin volume, a classic snapshot sized with lvs and bc, an expected failure and a
  temporary directory: each step kind whose undo the script must get right.
vars:
  vg: testvg
  pool: pool0
  pct: 20
disks:
  pv1: 256M
  pv2: 128M
steps:
  - run: vgcreate ${vg} ${disk.pv1} ${disk.pv2}
  - run: lvcreate -L 100M --thinpool ${pool} ${vg}
  - run: lvcreate -V 80M -T ${vg}/${pool} -n thin1
  - run: lvcreate -L 40M -n lin ${vg}
  - run: lvs --noheadings --units m --nosuffix -o lv_size ${vg}/lin
    save: {var: linsize, strip_suffix: ".00"}
  - compute: {var: snapsize, expr: "${linsize} * ${pct} / 100"}
  - assert: {var: snapsize, op: "==", value: 8}
  - title: a snapshot sized with bc
    run: lvcreate -s -n snap -L ${snapsize}m ${vg}/lin
  - expect_failure: lvcreate -L 10G -n huge ${vg}
    expect_stderr_contains: insufficient
  - mktemp: dir
  - run: lvremove -f ${vg}/snap
  - assert: {lv: "${vg}/snap", absent: true}
  - rmdir: ${dir}
"""


def write_scenario(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def render_path(path: Path, tmp_path: Path, **overrides: str) -> Path:
    script = tmp_path / f"{path.stem}.sh"
    script.write_text(_rendered(str(path), path.read_text(), tuple(sorted(overrides.items()))))
    return script


@functools.cache
def _rendered(path: str, text: str, overrides: tuple[tuple[str, str], ...]) -> str:
    """A scenario file's script, rendered once per test process (a render simulates the scenario)."""
    del text  # part of the key only: a file rewritten since is rendered anew
    return render.render_file(path, dict(overrides))


# -- the simulated host ---------------------------------------------------------------------------


def host_env(tmp_path: Path, shims: Path) -> dict[str, str]:
    """An environment whose PATH has the shims, then a few host tools, and nothing else."""
    safe = tmp_path / "hostbin"
    safe.mkdir(exist_ok=True)
    for tool in HOST_TOOLS:
        real = shutil.which(tool)
        if real and not (safe / tool).exists():
            (safe / tool).symlink_to(real)
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "PATH": f"{shims}:{safe}",
        "LVSIM_STATE": str(tmp_path / "state" / "state"),
        "LVSIM_ALLOW_NONROOT": "1",
        "TMPDIR": str(tmp),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
    }


def make_shims(tmp_path: Path) -> Path:
    shims = tmp_path / "shims"
    result = CliRunner().invoke(app, ["shims", str(shims)])
    assert result.exit_code == 0, result.output
    return shims


def run_script(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def saved_state(env: dict[str, str]) -> State:
    return store.load(Path(env["LVSIM_STATE"]))


def lvm_state(env: dict[str, str]) -> dict[str, object]:
    """The saved disks, PVs and VGs (not the bookkeeping that even a report may initialise)."""
    raw = saved_state(env).to_json()
    return {key: raw[key] for key in ("disks", "pvs", "vgs")}


def reports(state: State) -> dict[str, object]:
    """lvs -a and vgs as JSON reports, read from a state."""
    out = {}
    for kind, fields in (("lv", LV_FIELDS), ("vg", VG_FIELDS)):
        argv = [f"{kind}s", "--reportformat", "json", "--units", "b", "-o", fields]
        if kind == "lv":
            argv.insert(1, "-a")
        outcome = dispatch.run(state, argv)
        assert outcome.rc == 0, outcome.stderr
        out[kind] = json.loads(outcome.stdout)["report"][0][kind]
    return out


def expects_host(path: Path) -> bool:
    """Whether a scenario works on storage it finds (existing:) rather than on disks of its own."""
    sc = load(path)
    return bool(sc.existing_vgs or sc.existing_lvs)


def script_args(path: Path, tmp_path: Path) -> list[str]:
    """How the tests run a scenario's script: --loop for one with disks; for one over existing
    storage, its directory parameters set under tmp_path/dirs."""
    if not expects_host(path):
        return ["--loop"]
    sc = load(path)
    return [f"--set={name}={tmp_path / 'dirs' / name}" for name, kind in sc.params.items() if kind == "dir"]


def dir_files(path: Path, tmp_path: Path) -> list[dict[str, str]]:
    """The files in the directory parameters that script_args gave (the backups), as observe has them."""
    sc = load(path)
    return [file_hashes(tmp_path / "dirs" / n) for n, kind in sc.params.items() if kind == "dir"]


def run_setup(path: Path, backend: Backend) -> None:
    """A scenario's setup alone, on backend: the host that a scenario over existing storage expects."""
    sc = load(path)
    runner = Runner(dataclasses.replace(sc, steps=[]), backend, io.StringIO())
    try:
        assert runner.run(), runner.out.getvalue()  # type: ignore[attr-defined]
    finally:
        runner.remove_tempdirs()


def run_on_sim(path: Path) -> State:
    """What `lvsim run` does on the simulator: the final state."""
    backend = SimBackend()
    runner = Runner(load(path), backend, io.StringIO())
    try:
        assert runner.run(), runner.out.getvalue()
    finally:
        runner.remove_tempdirs()
    return backend.state


def left_files(tmpdir: Path) -> list[dict[str, str]]:
    """The files a script left in its mktemp directories (`tmp.*`: the backups), one {path: sha256}
    per directory, in the shape of `observe`'s files."""
    return sorted((file_hashes(d) for d in tmpdir.glob("tmp.*") if d.is_dir()), key=repr)


def leftovers(state: State) -> list[str]:
    """Everything a failed, unwound run must not leave: LVs, VGs, PVs, loop devices, dm devices, mounts."""
    found = [f"lv {vg.name}/{lv}" for vg in state.vgs.values() for lv in vg.lvs]
    found += [f"vg {vg}" for vg in state.vgs] + [f"pv {pv}" for pv in state.pvs]
    found += [f"loop {d.path}" for d in state.disks.values() if d.backing_file]
    found += [f"dm {d.name}" for d in devmap.devices(state)]
    found += [f"mount {m}" for m in fsimage.mounts(state)]
    return found
