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
    _run([*_pip(env_dir), str(source)], _clean_env(env_dir), base)
    return env_dir


def _pip(env_dir: Path) -> list[str]:
    """pip install into the venv at env_dir: the test run's own pip (--python), no pip bootstrap in
    every run; no byte-compiling of every installed module (what the tests import compiles as it loads)."""
    python = str(env_dir / "bin" / "python")
    options = ["-q", "--no-compile", "--disable-pip-version-check"]
    return [sys.executable, "-m", "pip", "--python", python, "install", *options]


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


USER_TESTS = """
import os
import subprocess
from pathlib import Path

import pytest


def test_scripts_reach_the_simulated_host(lvm):
    disk = lvm.add_disk("1G")
    subprocess.run(["vgcreate", "vg", disk], check=True)
    subprocess.run(["lvcreate", "-L", "100M", "-n", "data", "vg"], check=True)
    assert lvm.lv("vg/data")["lv_size"] == 100 * 2**20


def test_faults(lvm):
    disk = lvm.add_disk("1G")
    lvm.run(["vgcreate", "vg", disk], check=True)
    lvm.run("lvcreate -L 8M -n x vg", check=True)
    lvm.faults.busy("vg/x")
    done = subprocess.run(["lvremove", "-f", "vg/x"], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (5, "  Logical volume vg/x in use.\\n")


@pytest.fixture(scope="session")
def base(lvm_factory):
    host = lvm_factory()
    host.run(["vgcreate", "vg", host.add_disk("1G")], check=True)
    return host.save()


def test_fail_clock_reports_and_a_session_base_layout(lvm, base):
    lvm.restore(base)
    lvm.fail("lvcreate", rc=5, stderr="  Insufficient free space\\n")
    assert subprocess.run(["lvcreate", "-L", "8M", "-n", "y", "vg"]).returncode == 5
    lvm.clock.advance(60)
    subprocess.run(["lvcreate", "-L", "8M", "-n", "y", "vg"], check=True)
    assert lvm.vg("vg")["lv_count"] == 1 and lvm.lv("vg/y")["lv_size"] == 8 * 2**20


def test_packaged_helpers(lvm):
    helper = subprocess.run(["lvsim", "env", "--bats-helper"], capture_output=True, text=True, check=True)
    assert Path(helper.stdout.strip()).is_file()
    assert os.environ["LVSIM_STATE"].startswith(os.environ["TMPDIR"].rsplit("/", 1)[0])
"""


def test_installed_pytest_plugin_needs_no_conftest(installed: Path, tmp_path: Path) -> None:
    """pip install lvsim pytest: a test file using the `lvm` fixture (disks, commands, reports, faults, the
    clock, a base layout built once per session) runs with no conftest."""
    python = str(installed / "bin" / "python")
    _run([*_pip(installed), "pytest"], _clean_env(installed), tmp_path)
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    done = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], _clean_env(installed), tmp_path)
    assert "4 passed" in done.stdout
