"""Running scenarios: the shipped ones on each backend, failures that must fail, and the CLI."""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from scenario_observe import observe, observe_on_real
from typer.testing import CliRunner

from backends.sim import SimBackend
from lvsim import dispatch
from lvsim.backend import Backend, Result
from lvsim.cli import app
from lvsim.scenarios import Runner, demo, load
from lvsim.scenarios.runner import SCENARIO_DIR
from lvsim.scenarios.steps import HOST_COMMANDS, tools

SHIPPED = sorted(SCENARIO_DIR.glob("*.yaml"))


def run(path: Path, backend: Backend, **overrides: str) -> tuple[Runner, str]:
    out = io.StringIO()
    runner = Runner(load(path, overrides), backend, out)
    runner.run()
    runner.remove_tempdirs()
    return runner, out.getvalue()


def test_shipped_scenarios_use_only_emulated_tools() -> None:
    """Every program a shipped scenario runs is emulated by the simulator or run on the host."""
    for path in SHIPPED:
        missing = tools(load(path).steps) - set(dispatch.command_names()) - HOST_COMMANDS
        assert not missing, f"{path.name} runs {sorted(missing)}, which the simulator does not emulate"


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.stem, marks=pytest.mark.shard_group(f"scenario-{p.stem}")) for p in SHIPPED]
)
def test_shipped_scenario(path: Path, backend: Backend) -> None:
    """Each shipped scenario passes; on real LVM it ends exactly as on the simulator."""
    seen, transcript = observe_on_real(path, backend) if backend.name == "real" else observe(path, backend)
    assert seen["failure"] == "", transcript
    assert transcript.rstrip().endswith(f"PASSED: {path.stem}, {len(load(path).flat_steps())} steps")
    if backend.name != "sim":
        with SimBackend() as sim:
            on_sim, sim_transcript = observe(path, sim)
        assert on_sim == seen, f"simulator:\n{sim_transcript}\n{backend.name}:\n{transcript}"


def scenario(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "t.yaml"
    head = "name: t\ndescription: d\nvars:\n  vg: vg0\ndisks:\n  d1: 64M\nsteps:\n"
    path.write_text(head + textwrap.dedent(steps))
    return path


BASE = """\
- run: pvcreate ${disk.d1}
- run: vgcreate ${vg} ${disk.d1}
- run: lvcreate -L 8M -n lv1 ${vg}
"""


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        (
            "- assert: {lv: vg0/lv1, field: lv_size, units: m, op: '>', value: 8}",
            "assertion failed: vg0/lv1 lv_size is '8.00', expected > '8'",
        ),
        ("- assert: {lv: vg0/lv1, absent: true}", "lv vg0/lv1 exists, expected it to be absent"),
        ("- assert: {lv: vg0/nope, field: lv_size, op: '==', value: 1}", "cannot read lv vg0/nope"),
        ("- run: lvcreate -L 8M -n lv1 vg0", "expected rc 0, got 5"),
        ("- run: lvs vg0\n  expect_rc: 3", "expected rc 3, got 0"),
        ("- expect_failure: lvs vg0", "expected a failure, got rc 0"),
        ("- run: lvs vg0\n  expect_stdout_contains: lv9", "stdout does not contain 'lv9'"),
        ("- run: lvs vg0\n  expect_stderr_contains: oops", "stderr does not contain 'oops'"),
        (
            "- compute: {var: half, expr: '8 / 2'}\n- assert: {var: half, op: '==', value: 5}",
            "assertion failed: ${half} is '4', expected == '5'",
        ),
        ("- assert: {file: nonexistent, contains: x}", "cat nonexistent: expected rc 0, got 1"),
        (
            "- assert: {file: /nonexistent/lvsim, contains: x}",
            "cat /nonexistent/lvsim: lvsim: /nonexistent/lvsim is outside the scenario's work directory",
        ),
    ],
)
def test_failures_fail(tmp_path: Path, step: str, fragment: str) -> None:
    path = scenario(tmp_path, BASE + step + "\n- run: lvs\n")
    with SimBackend() as backend:
        runner, transcript = run(path, backend)
    assert fragment in runner.failure, transcript
    assert runner.failure.startswith(f"step 4 ({path}:11): ") or runner.failure.startswith(
        f"step 5 ({path}:12): "
    )
    assert "\nFAILED: " in transcript
    assert "$ lvs\n" not in transcript  # stopped at the failure


def test_successes_pass(tmp_path: Path) -> None:
    steps = BASE + textwrap.dedent(
        """\
        - run: lvs --noheadings --units m -o lv_size vg0/lv1
          save: {var: size_mb, strip_suffix: m}
        - compute: {var: snap_mb, expr: "${size_mb} * 50 / 100"}
        - assert: {var: snap_mb, op: "==", value: 4}
        - run: lvcreate -s -n snap -L ${snap_mb}m vg0/lv1
          expect_stdout_contains: Logical volume "snap" created.
        - assert: {lv: vg0/snap, field: origin, op: "==", value: lv1}
        - run: lvremove -f vg0/snap
        - assert: {lv: vg0/snap, absent: true}
        - expect_failure: lvcreate -L 8M -n lv1 vg0
          expect_rc: 5
          expect_stderr_contains: already exists
        - mktemp: dir
        - write_file: {path: "${dir}/f", content: "hello\\n"}
        - assert: {file: "${dir}/f", equals: "hello\\n"}
        - copy: {from: "${dir}/f", to: "${dir}/g"}
        - assert: {file: "${dir}/g", same_as: "${dir}/f"}
        - assert: {file: "${dir}/h", absent: true}
        """
    )
    path = scenario(tmp_path, steps)
    with SimBackend() as backend:
        runner, transcript = run(path, backend)
    assert runner.failure == "", transcript
    assert "   size_mb=8.00\n" in transcript
    assert "$ echo 'scale=0; 8.00 * 50 / 100' | bc\n   snap_mb=4\n" in transcript
    assert "$ lvcreate -s -n snap -L 4m vg0/lv1\n" in transcript
    assert runner.tempdirs and not os.path.exists(runner.tempdirs[0])


cli = CliRunner()


def test_cli_run_prints_transcript(tmp_path: Path) -> None:
    path = scenario(tmp_path, BASE)
    result = cli.invoke(app, ["run", str(path), "--var", "vg=othervg"])
    assert result.exit_code == 0, result.output
    assert (
        '$ vgcreate othervg /dev/loop0\n  Volume group "othervg" successfully created\n[rc=0]'
        in result.output
    )


def test_cli_run_fails_on_assertion(tmp_path: Path) -> None:
    path = scenario(tmp_path, BASE + "- assert: {lv: vg0/lv1, field: lv_name, op: '==', value: lv2}\n")
    result = cli.invoke(app, ["run", str(path)])
    assert result.exit_code == 1
    assert "FAILED: step 4" in result.output


def test_cli_run_bad_scenario(tmp_path: Path) -> None:
    path = scenario(tmp_path, "- run: lvs\n  exepct_rc: 3\n")
    result = cli.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert f"lvsim: {path}:9: steps/0: unknown key 'exepct_rc'" in result.output
    result = cli.invoke(app, ["run", str(path), "--var", "novar"])
    assert result.exit_code == 2
    assert "--var wants NAME=VALUE" in result.output


def test_cli_run_real_backend_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import backends.real

    def refuse() -> None:
        raise backends.real.RealBackendUnavailable("RealBackend needs root (it attaches loop devices)")

    monkeypatch.setattr(backends.real, "check_prerequisites", refuse)
    result = cli.invoke(app, ["run", str(scenario(tmp_path, BASE)), "--backend", "real"])
    assert result.exit_code == 1
    assert "lvsim: the real backend is not available: RealBackend needs root" in result.output
    result = cli.invoke(app, ["run", str(scenario(tmp_path, BASE)), "--backend", "foo"])
    assert result.exit_code == 2
    assert "lvsim: unknown backend 'foo' (sim or real)" in result.output


def test_cli_demo_shows_the_pool() -> None:
    result = cli.invoke(app, ["demo"])
    assert "== scenario thin-provisioning" in result.output
    assert result.exit_code == 0, result.output
    assert "Thin pool datavg/datalv: 800.00 MiB, data 28.00% used, metadata " in result.output
    for lv, used, pct in (
        ("test1", "128.00 MiB", 40),
        ("test2", "64.00 MiB", 20),
        ("test3", "32.00 MiB", 10),
    ):
        assert f"  {lv:<16}   320.00 MiB {used:>12}  " in result.output
        assert f"· {pct}%\n" in result.output
    assert "█ used 224.00 MiB   ░ free 576.00 MiB   | pool size 800.00 MiB\n" in result.output
    assert (
        "the thin volumes promise 960.00 MiB, 120% of the pool: ▒ overcommitted by 160.00 MiB"
        in result.output
    )


def test_demo_view_from_the_model_matches_the_report() -> None:
    with SimBackend() as backend:
        runner = Runner(load(SCENARIO_DIR / "thin-provisioning.yaml"), backend, io.StringIO())
        assert runner.run(), runner.failure
        assert demo.pools_from_model(backend) == demo.pools_from_report(backend)


def test_demo_view_without_overcommit() -> None:
    pool = demo.PoolView("vg", "pool", 100 << 20, 25 << 20, 5.0, [demo.ThinRow("t1", 50 << 20, 25 << 20)])
    text = demo.render([pool])
    assert "  [" + "█" * 15 + "░" * 45 + "|]\n" in text
    assert "the thin volumes promise 50.00 MiB, 50% of the pool\n" in text
    assert demo.render([]) == "No thin pools.\n"


class BrokenBackend(SimBackend):
    """A simulator whose lvcreate crashes and whose disks can be refused."""

    def __init__(self, refuse_disks: bool = False) -> None:
        super().__init__()
        self.refuse_disks = refuse_disks

    def add_disk(self, size: int) -> str:
        if self.refuse_disks:
            raise RuntimeError("losetup: no free loop device")
        return super().add_disk(size)

    def run(self, argv: Sequence[str], stdin: str = "") -> Result:
        if argv[0] == "lvcreate":
            raise KeyError("boom")
        return super().run(argv, stdin)


def test_backend_crashes_fail_the_step(tmp_path: Path) -> None:
    path = scenario(tmp_path, BASE)
    runner, transcript = run(path, BrokenBackend())
    assert "\nFAILED: step 3" in transcript
    assert runner.failure.startswith(f"step 3 ({path}:10): lvcreate -L 8M -n lv1 vg0: KeyError: 'boom' (at ")
    runner, _ = run(path, BrokenBackend(refuse_disks=True))
    assert runner.failure.startswith(f"disk d1 ({path}:6): RuntimeError: losetup: no free loop device (at ")


@pytest.mark.parametrize("name", ["thin-provisioning", "pool-conversion", "pool-exhaustion"])
def test_sizes_scale_with_unit(name: str) -> None:
    with SimBackend() as backend:
        runner, transcript = run(SCENARIO_DIR / f"{name}.yaml", backend, unit="4")
    assert runner.failure == "", transcript
