"""lvsim installed alone: a fresh virtualenv with the package and its declared dependencies only (no test
extras, no project checkout on sys.path) runs the commands users start with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding lvsim built from a copy of the sources (the checkout itself stays untouched)."""
    base = tmp_path_factory.mktemp("install")
    source = base / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("lvsim", "backends"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    # The test run's own pip installs into the new venv (--python): no pip bootstrap in every run.
    pip = [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "-q"]
    _run([*pip, "--disable-pip-version-check", str(source)], _clean_env(env_dir), base)
    return env_dir


def _clean_env(env_dir: Path) -> dict[str, str]:
    """Only the system directories and the venv on PATH; nothing of this test run's Python leaks in."""
    keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {**keep, "PATH": f"{env_dir / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin"}


def test_installed_package_runs_plan_render_run_and_shims(installed: Path, tmp_path: Path) -> None:
    env = {**_clean_env(installed), "LVSIM_STATE": str(tmp_path / "state")}
    lvsim = str(installed / "bin" / "lvsim")
    plan = _run([lvsim, "plan", str(SCENARIOS / "thin-provisioning.yaml")], env, tmp_path)
    assert "datavg" in plan.stdout
    script = tmp_path / "backup.sh"
    _run([lvsim, "render", str(SCENARIOS / "xfs-snapshot-backup.yaml"), "-o", str(script)], env, tmp_path)
    assert script.read_text().startswith("#!/usr/bin/env bash")
    run = _run([lvsim, "run", str(SCENARIOS / "thin-provisioning.yaml")], env, tmp_path)
    assert "PASSED: thin-provisioning" in run.stdout + run.stderr
    _run([lvsim, "shims", str(tmp_path / "bin")], env, tmp_path)
    _run([lvsim, "disk", "add", "/dev/vdb", "1G"], env, tmp_path)
    shim_env = {**env, "PATH": f"{tmp_path / 'bin'}:{env['PATH']}"}
    _run(["pvcreate", "/dev/vdb"], shim_env, tmp_path)
    _run(["vgcreate", "vg", "/dev/vdb"], shim_env, tmp_path)
    pvs = _run(["pvs", "--noheadings", "-o", "pv_name,vg_name"], shim_env, tmp_path)
    assert pvs.stdout.split() == ["/dev/vdb", "vg"]


def test_running_python_is_not_the_installed_one(installed: Path) -> None:
    """The fixture really made a separate interpreter environment (a guard against testing the checkout)."""
    assert Path(sys.prefix).resolve() != installed.resolve()
    probe = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import lvsim, sys; print(lvsim.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    assert probe.stdout.startswith(str(installed))
