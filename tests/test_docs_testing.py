"""Every example in docs/testing.md runs: the Python blocks as pytest files (on the simulator; on real
LVM in the VM suite), the bash block as a script, the bats block with bats."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "testing.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
BIN = Path(sys.executable).parent


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(DOC.read_text()) if lang == language]


def _env(tmp_path: Path) -> dict[str, str]:
    """The user's environment: lvsim and pytest installed, no lvsim state or shims of this run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LVSIM_", "PYTEST_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(tmp_path)
    return env


def _pytest_examples(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    for n, body in enumerate(blocks("python")):
        (tmp_path / f"test_example_{n}.py").write_text(body)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull, "-rs", *options],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _count(summary: str, word: str) -> int:
    found = re.search(rf"(\d+) {word}", summary)
    return int(found.group(1)) if found else 0


def _tests_in_blocks() -> int:
    return sum(len(re.findall(r"^def test_", body, re.M)) for body in blocks("python"))


def test_every_fenced_block_is_run() -> None:
    languages = {lang for lang, _ in FENCE.findall(DOC.read_text())}
    assert languages == {"python", "bash", "bats"}
    assert len(blocks("python")) >= 6 and blocks("bash") and blocks("bats")


def test_python_examples_pass_on_the_simulator(tmp_path: Path) -> None:
    done = _pytest_examples(tmp_path)
    summary = done.stdout.splitlines()[-1] if done.stdout else ""
    assert done.returncode == 0, done.stdout + done.stderr
    # the [real] case of the parametrized example is skipped here (no device-mapper), and says why
    assert _count(summary, "passed") == _tests_in_blocks(), summary
    assert _count(summary, "skipped") == 1 and "real LVM is not available here" in done.stdout


@pytest.mark.real
def test_python_examples_on_real_lvm(tmp_path: Path) -> None:
    """With --lvm-backend=real: what real LVM can do passes, the rest is skipped with the reason."""
    done = _pytest_examples(tmp_path, "--lvm-backend=real")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.splitlines()[-1]
    assert _count(summary, "failed") == 0 and _count(summary, "passed") >= 6, summary
    assert "real LVM: " in done.stdout  # the skip reasons


def test_bash_example(tmp_path: Path) -> None:
    (script,) = blocks("bash")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Reading VG vg failed." in done.stderr


def test_bats_example(tmp_path: Path) -> None:
    bats = shutil.which("bats", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assert bats is not None, "bats not found: it is in the test extras (pip install -e '.[test]')"
    (body,) = blocks("bats")
    (tmp_path / "example.bats").write_text(body)
    done = subprocess.run(
        [bats, "--tap", "example.bats"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("\nok ") == 2, done.stdout
