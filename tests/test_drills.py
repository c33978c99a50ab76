"""Drills: an application keeps writing as the simulated clock runs; `drill check` says how it went."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.sim import SimBackend
from lvsim.training import exercise, lessons
from lvsim.training.session import Session, prepare

DRILLS = exercise.catalogue("drills")


@pytest.mark.parametrize("drill", DRILLS, ids=[d.name for d in DRILLS])
def test_the_solution_keeps_the_application_running(drill: exercise.Exercise, tmp_path: Path) -> None:
    with SimBackend() as sim:
        m = exercise.Machine(sim, tmp_path)
        m.setup(drill)
        m.solve(drill)
        assert [v.text for v in exercise.verdicts(m, drill.check) if not v.ok] == []


@pytest.mark.parametrize("drill", DRILLS, ids=[d.name for d in DRILLS])
def test_doing_nothing_loses_data(drill: exercise.Exercise, tmp_path: Path) -> None:
    with SimBackend() as sim:
        m = exercise.Machine(sim, tmp_path)
        m.setup(drill)
        sim.wait(120)
        failed = [v.text for v in exercise.verdicts(m, drill.check) if not v.ok]
        assert failed, "doing nothing should fail the drill"


@pytest.fixture
def session(tmp_path: Path) -> Session:
    return prepare(tmp_path / "shell")


def test_pool_drill_in_a_session_too_late(session: Session) -> None:
    """Waiting past no_space_timeout before growing the pool: the application's writes failed."""
    text = lessons.start(session, "pool-95", "drill")
    assert text.startswith("Drill pool-95:")
    with SimBackend(state_path=session.state, lvm_system_dir=session.etc) as sim:
        sim.wait(75)  # full after 8 s, queued 60 s, then the pool fails the writes
        assert sim.run(["lvextend", "-L", "+40M", "vg/pool"]).rc == 0
        sim.wait(60)
    ok, report = lessons.check(session, "drill")
    assert not ok
    assert "app: its writes failed after 69 s (No space left on device)" in report


def test_pool_drill_in_a_session_in_time(session: Session) -> None:
    lessons.start(session, "pool-95", "drill")
    with SimBackend(state_path=session.state, lvm_system_dir=session.etc) as sim:
        sim.wait(30)  # full after 8 s: the writes wait
        report = sim.run(["lvs", "-o", "lv_attr,lv_health_status", "vg/pool"]).stdout
        assert "twi-aotzD-" in report and "out_of_data" in report
        assert sim.run(["lvextend", "-L", "+40M", "vg/pool"]).rc == 0
        sim.wait(100)
    ok, report = lessons.check(session, "drill")
    assert ok, report
    assert "app wrote all its data (30 of 30 MiB), and it reads back intact" in report
