"""`pytest --shard I/N` (tests/conftest.py): the VM harness's split of the real suite over N VMs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DURATIONS

ROOT = Path(__file__).resolve().parent.parent


def collected(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "real", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_shards_split_the_real_suite_exactly() -> None:
    everything = collected()
    shards = [collected("--shard", f"{i}/3") for i in range(3)]
    assert sorted(test for shard in shards for test in shard) == sorted(everything)
    assert all(shards)


def test_shards_are_balanced_by_the_recorded_durations() -> None:
    known = json.loads(DURATIONS.read_text())
    typical = sorted(known.values())[len(known) // 2]
    loads = [sum(known.get(test, typical) for test in collected("--shard", f"{i}/2")) for i in range(2)]
    assert max(loads) - min(loads) <= max(known.values())


def test_a_bad_shard_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--shard", "2/2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--shard 2/2: I must be in 0..N-1" in proc.stderr
