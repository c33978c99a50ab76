"""lvsim plan: predicted states and warnings from a scenario run on the simulator."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lvsim.cli import app
from lvsim.scenarios import load, plan

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def scenario(tmp_path: Path, steps: str, disk: str = "256M") -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "name: plan-test\ndescription: a plan test\nvars: {vg: pvg}\n"
        f"disks: {{pv1: {disk}}}\nsteps:\n  - run: vgcreate ${{vg}} ${{disk.pv1}}\n"
        + textwrap.indent(textwrap.dedent(steps), "  ")
    )
    return path


def planned(path: Path) -> dict[str, object]:
    return plan.make_plan(plan.simulate(load(path)))


def kinds(result: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for w in result["warnings"]:  # type: ignore[attr-defined]
        out.setdefault(w["kind"], []).append(w)
    return out


def test_each_command_with_the_state_after_it(tmp_path: Path) -> None:
    result = planned(
        scenario(
            tmp_path,
            """\
            - run: lvcreate -L 64M --thinpool pool ${vg}
            - run: lvcreate -V 32M -T ${vg}/pool -n thin1
            - run: lvcreate -L 16M -n lin ${vg}
            """,
        )
    )
    commands = result["commands"]
    assert [c["command"] for c in commands] == [
        "vgcreate pvg /dev/loop0",
        "lvcreate -L 64M --thinpool pool pvg",
        "lvcreate -V 32M -T pvg/pool -n thin1",
        "lvcreate -L 16M -n lin pvg",
    ]
    (vg,) = commands[-1]["state"]
    assert vg["name"] == "pvg"
    assert vg["free_extents"] == 63 - 16 - 2 - 4  # pool data, its metadata and spare, lin
    assert vg["lvs"] == {"pool": 64 << 20, "thin1": 32 << 20, "lin": 16 << 20}
    (pool,) = vg["pools"]
    assert pool["size"] == 64 << 20 and pool["virtual"] == 32 << 20
    assert pool["data_percent"] == 0.0 and pool["metadata_percent"] > 0
    assert commands[0]["state"][0]["free_extents"] == 63


def test_overcommit_and_pool_fill(tmp_path: Path) -> None:
    result = planned(
        scenario(
            tmp_path,
            """\
            - run: lvcreate -L 64M --thinpool pool ${vg}
            - run: lvcreate -V 64M -T ${vg}/pool -n thin1
            - run: lvcreate -V 64M -T ${vg}/pool -n thin2
            - write: {device: "/dev/${vg}/thin1", size: 56M, pattern: "data "}
            """,
        )
    )
    found = kinds(result)
    (over,) = found["overcommit"]
    assert over["command"] == 4
    assert "overcommitted 2.00:1 (128.00m of thin volumes on a 64.00m pool)" in over["message"]
    (fill,) = found["pool-data-fill"]
    assert fill["command"] == 5 and "data will reach 87.50%" in fill["message"]
    assert "pool-data-full" not in found
    assert result["commands"][-1]["state"][0]["pools"][0]["data_percent"] == 87.5
    peak = result["peaks"]["pvg/pool"]
    assert peak["data"] == 87.5 and peak["overcommit"] == 2.0 and peak["metadata"] > 0
    assert result["peaks"]["pvg"]["min_free"] == (63 - 16 - 2) * 4 << 20


def test_pool_that_fills_up(tmp_path: Path) -> None:
    result = planned(
        scenario(
            tmp_path,
            """\
            - run: lvcreate -L 32M --thinpool pool ${vg}
            - run: lvcreate -V 64M -T ${vg}/pool -n thin1
            - write: {device: "/dev/${vg}/thin1", size: 48M, pattern: "data "}
              expect_rc: nonzero
            """,
        )
    )
    found = kinds(result)
    assert [w["command"] for w in found["pool-data-full"]] == [4]


def test_cow_snapshot_overflow(tmp_path: Path) -> None:
    result = planned(
        scenario(
            tmp_path,
            """\
            - run: lvcreate -L 32M -n data ${vg}
            - run: lvcreate -s -L 8M -n snap ${vg}/data
            - write: {device: "/dev/${vg}/data", size: 4M, pattern: "a"}
            - write: {device: "/dev/${vg}/data", size: 16M, offset: 4M, pattern: "b"}
            """,
        )
    )
    found = kinds(result)
    (overflow,) = found["snapshot-overflow"]
    assert overflow["command"] == 5
    assert "pvg/snap will overflow" in overflow["message"]
    assert "snapshot-fill" not in found  # 4M of 8M before the overflow: under 80%
    assert result["commands"][3]["state"][0]["snapshots"]["snap"] < 100


@pytest.mark.parametrize(("extents", "warned"), [("100%FREE", True), ("95%FREE", True), ("50%FREE", False)])
def test_percent_free_allocation_and_snapshot_room(tmp_path: Path, extents: str, warned: bool) -> None:
    result = planned(scenario(tmp_path, f"- run: lvcreate -l {extents} -n data ${{vg}}\n"))
    found = kinds(result)
    assert ("no-snapshot-room" in found) is warned
    if warned:
        assert found["no-snapshot-room"][0]["command"] == 2
        assert "no room for a COW snapshot of pvg/data" in found["no-snapshot-room"][0]["message"]


def test_autoextend_disabled_and_no_headroom(tmp_path: Path) -> None:
    roomy = kinds(planned(scenario(tmp_path, "- run: lvcreate -L 64M --thinpool pool ${vg}\n")))
    (disabled,) = roomy["no-autoextend"]
    assert disabled["command"] == 2
    assert "thin_pool_autoextend_threshold is 100" in disabled["message"]
    assert "no-autoextend-headroom" not in roomy
    full = kinds(planned(scenario(tmp_path, "- run: lvcreate -l 95%FREE --thinpool pool ${vg}\n")))
    assert "no-snapshot-room" not in full
    (headroom,) = full["no-autoextend-headroom"]
    assert "less than one autoextend step of pvg/pool (20%" in headroom["message"]


def test_shipped_scenarios_warn_where_they_should() -> None:
    exhaustion = kinds(planned(SCENARIOS / "pool-exhaustion.yaml"))
    assert {"overcommit", "pool-data-full", "no-autoextend"} <= set(exhaustion)
    overflow = kinds(planned(SCENARIOS / "snapshot-overflow.yaml"))
    assert "snapshot-overflow" in overflow
    thin = kinds(planned(SCENARIOS / "thin-provisioning.yaml"))
    assert "overcommitted 1.50:1" in thin["overcommit"][0]["message"]


def test_cli_text_and_json(tmp_path: Path) -> None:
    path = scenario(tmp_path, "- run: lvcreate -L 64M --thinpool pool ${vg}\n")
    text = CliRunner().invoke(app, ["plan", str(path)])
    assert text.exit_code == 0, text.output
    assert "  2. step 2: $ lvcreate -L 64M --thinpool pool pvg" in text.output
    assert "pool pool: 64.00m, data 0.00%" in text.output
    assert "WARNING: thin pool pvg/pool will not autoextend" in text.output
    as_json = CliRunner().invoke(app, ["plan", str(path), "--format", "json", "--var", "vg=othervg"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["scenario"] == "plan-test" and data["vars"] == {"vg": "othervg"}
    assert data["commands"][1]["command"] == "lvcreate -L 64M --thinpool pool othervg"
    assert data["failure"] == ""
    bad = CliRunner().invoke(app, ["plan", str(path), "--format", "xml"])
    assert bad.exit_code == 2


def test_failing_scenario_is_reported(tmp_path: Path) -> None:
    path = scenario(tmp_path, "- run: lvcreate -L 1G -n big ${vg}\n")
    result = CliRunner().invoke(app, ["plan", str(path)])
    assert result.exit_code == 1
    assert "the scenario FAILS on the simulator: step 2" in result.output
