"""Differential testing: random command sequences on the simulator and on real LVM, all outputs equal.

`test_sim_matches_real` (marked `real`, in the VM) runs LVSIM_DIFF_EXAMPLES sequences (default
`EXAMPLES`; none starts after LVSIM_DIFF_SECONDS, default `SECONDS`, 2 minutes) drawn with
seed LVSIM_DIFF_SEED (default 0) from the command shapes LVSIM_DIFF_SHAPES (default `all`;
`clients`: only the command lines of Proxmox, OpenStack, libvirt and Ansible) on both backends, and fails listing every mismatching sequence as a
replayable golden-case YAML; with LVSIM_DIFF_OUT=DIR it also writes each one there as DIR/diff-N.yaml
plus the real run's recording DIR/diff-N.json (copy both to tests/regressions/ to keep it), and logs
its progress in DIR/progress.log.
`test_generator_on_sim` runs the generator against the simulator alone (deterministic, never a
crash), and `test_regression` replays the sequences kept in tests/regressions/ on the simulator
against what real LVM answered.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from backends.sim import SimBackend
from lvsim.testing import difftest, transcript

EXAMPLES = 10
SECONDS = 120  # LVSIM_DIFF_SECONDS: no new sequence starts after this, whatever the example budget
REGRESSIONS = Path(__file__).parent / "regressions"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@pytest.mark.real
def test_sim_matches_real(capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = Path(os.environ["LVSIM_DIFF_OUT"]) if os.environ.get("LVSIM_DIFF_OUT") else None
    version = ""
    start, seconds = time.monotonic(), _env_int("LVSIM_DIFF_SECONDS", SECONDS)
    counts = {"sequences": 0, "commands": 0}
    failures: list[str] = []

    def check(case: difftest.DiffCase) -> None:
        nonlocal version
        if time.monotonic() - start > seconds:
            raise difftest.StopExploring
        with transcript.make_backend("real") as real:
            expected = difftest.run_case(case, real)
            version = version or transcript.lvm_version(real)
        with SimBackend() as sim:
            actual = difftest.run_case(case, sim)
        counts["sequences"] += 1
        counts["commands"] += len(case.steps)
        mismatches = difftest.compare(expected, actual)
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            with (out_dir / "progress.log").open("a") as log:
                elapsed = time.monotonic() - start
                log.write(f"{counts['sequences']} {len(case.steps)} {elapsed:.0f}s {len(mismatches)}\n")
        if not mismatches:
            return
        name = f"diff-{len(failures)}"
        failures.append(transcript.format_mismatches(name, mismatches) + "\n" + case.to_yaml())
        if out_dir:
            (out_dir / f"{name}.yaml").write_text(case.to_yaml())
            recording = difftest.to_recording(name, "differential test sequence", case, expected, version)
            transcript.save_recording(recording, out_dir)

    shapes = os.environ.get("LVSIM_DIFF_SHAPES") or "all"
    difftest.explore(_env_int("LVSIM_DIFF_EXAMPLES", EXAMPLES), check, _env_int("LVSIM_DIFF_SEED", 0), shapes)
    with capsys.disabled():
        print(
            f"\ndifferential ({shapes}): {counts['sequences']} sequences, {counts['commands']} commands compared, "
            f"{len(failures)} mismatches ({time.monotonic() - start:.0f} s)"
        )
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("shapes", sorted(difftest.SHAPES))
def test_generator_on_sim(shapes: str) -> None:
    """The generator is deterministic for a seed, and the simulator runs every sequence alike, never crashing."""
    first: list[difftest.DiffCase] = []
    second: list[difftest.DiffCase] = []
    difftest.explore(40, first.append, 7, shapes)
    difftest.explore(40, second.append, 7, shapes)
    assert first == second and len(set(first)) == len(first) > 15
    for case in first:
        assert 3 + len(difftest.FINAL_REPORTS) <= len(case.steps) <= 12 + len(difftest.FINAL_REPORTS)
        data = yaml.safe_load(case.to_yaml())
        assert data["steps"] == list(case.steps)
        assert tuple(map(transcript.parse_size, data["disks"])) == case.disks
        with SimBackend() as one, SimBackend() as two:
            results = difftest.run_case(case, one)
            assert not difftest.compare(results, difftest.run_case(case, two)), case.to_yaml()
        for result in results:
            assert 0 <= result.rc < 256 and "Traceback" not in result.stderr, (result, case.to_yaml())
        for final in results[-len(difftest.FINAL_REPORTS) :]:
            assert final.rc == 0, (final, case.to_yaml())


def _regressions() -> list[pytest.ParameterSet]:
    params = []
    for path in sorted(REGRESSIONS.glob("*.json")):
        case = yaml.safe_load(path.with_suffix(".yaml").read_text())
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if case.get("xfail") else []
        params.append(pytest.param(path, marks=marks, id=path.stem))
    return params


@pytest.mark.parametrize("path", _regressions())
def test_regression(path: Path) -> None:
    """A sequence that once differed, replayed on the simulator against real LVM's recorded answers."""
    recording = transcript.load_recording(path)
    case = transcript.load_case(path.with_suffix(".yaml"))
    assert [s["cmd"] for s in recording["steps"]] == [s.cmd for s in case.steps]
    with SimBackend() as sim:
        mismatches = transcript.replay(recording, sim)
    assert not mismatches, transcript.format_mismatches(path.stem, mismatches)
