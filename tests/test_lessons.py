"""The lessons: each starts short of its goal and its reference solution reaches it, on the simulator
and (marked real, in the VM) on real LVM; and the lesson commands as a trainee uses them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lvsim.backend import Backend
from lvsim.training import exercise, lessons, machine
from lvsim.training.session import Session, prepare

LESSONS = exercise.catalogue("lessons")


def test_at_least_ten_lessons_each_with_hints_checks_and_a_solution() -> None:
    assert len(LESSONS) >= 10
    assert len({lesson.name for lesson in LESSONS}) == len(LESSONS)
    for lesson in LESSONS:
        assert lesson.hints and lesson.check and lesson.solution, lesson.name
        assert lesson.goal and lesson.explanation, lesson.name


def _fresh_dmeventd(backend: Backend) -> None:
    """On real LVM, a dmeventd left by an earlier test keeps that test's LVM_SYSTEM_DIR, whose
    lvm.conf is gone: restart it from this backend's environment (in the VM)."""
    if backend.name == "real":
        from lvsim.testing.transcript import restart_dmeventd

        restart_dmeventd(backend.environment())


@pytest.mark.parametrize(
    "lesson", [pytest.param(item, id=item.name, marks=pytest.mark.shard_group("lessons")) for item in LESSONS]
)
def test_solution_reaches_the_goal(lesson: exercise.Exercise, backend: Backend, tmp_path: Path) -> None:
    m = exercise.Machine(backend, tmp_path)
    _fresh_dmeventd(backend)
    m.setup(lesson)
    before = list(exercise.verdicts(m, lesson.check))
    assert not all(v.ok for v in before), f"{lesson.name}: the goal holds before the trainee did anything"
    m.solve(lesson)
    failed = [v.text for v in exercise.verdicts(m, lesson.check) if not v.ok]
    assert failed == [], "\n".join(m.transcript[-5:])


@pytest.fixture
def session(tmp_path: Path) -> Session:
    return prepare(tmp_path / "shell")


def test_a_lesson_in_a_session(session: Session) -> None:
    text = lessons.start(session, "thin-pool-basics")
    assert "Lesson thin-pool-basics: Thin pool basics" in text
    assert "/dev/loop0" in text  # the lesson's disk, named in its goal
    ok, report = lessons.check(session)
    assert not ok
    assert "✗ LV vg/pool does not exist" in report
    assert lessons.hint(session).startswith("Hint 1 of 2:")
    assert lessons.hint(session).startswith("Hint 2 of 2:")
    assert lessons.hint(session).startswith("No more hints.")
    for cmd in ("lvcreate -L 100M -T vg/pool", "lvcreate -V 1G -T vg/pool -n thin1"):
        assert machine.run(session.state, cmd.split(), session.env()).rc == 0
    ok, report = lessons.check(session)
    assert ok, report
    assert "Next: lvsim lesson start over-commitment" in report
    assert "✓  1. thin-pool-basics" in lessons.listing(session)


def test_lesson_reset_goes_back_to_the_start(session: Session) -> None:
    lessons.start(session, "over-commitment")
    assert (
        machine.run(session.state, ["lvcreate", "-V", "200M", "-T", "vg/pool", "-n", "web"], session.env()).rc
        == 0
    )
    lessons.reset(session)
    result = machine.run(session.state, ["lvs", "--noheadings", "-o", "lv_name", "vg"], session.env())
    assert result.stdout.split() == ["pool"]


def test_a_lesson_with_data_checks_what_the_setup_wrote_from_another_process(session: Session) -> None:
    """The pattern written at start is found again by a later check (the progress file keeps where)."""
    lessons.start(session, "pool-exhaustion")
    for cmd in ("lvextend -L +40M vg/pool", "lvchange --errorwhenfull n vg/pool"):
        assert machine.run(session.state, cmd.split(), session.env()).rc == 0
    ok, report = lessons.check(session)
    assert ok, report
    assert "the data 'orders' on /dev/vg/data is intact" in report


def test_unknown_lesson_and_no_lesson(session: Session) -> None:
    with pytest.raises(lessons.LessonError, match="no lesson 'nope'"):
        lessons.start(session, "nope")
    with pytest.raises(lessons.LessonError, match="no lesson in progress"):
        lessons.check(session)


def test_starting_a_lesson_unmounts_what_the_last_one_left_mounted(session: Session) -> None:
    lessons.start(session, "xfs-snapshot-backup")  # its setup leaves ${work}/db mounted
    assert (session.work / "db" / "orders.sql").exists()
    lessons.start(session, "thin-pool-basics")
    assert not (session.work / "db" / "orders.sql").exists()


def test_starting_outside_the_shell_says_where_to_work(tmp_path: Path) -> None:
    """`lvsim lesson start` and `lvsim drill NAME` in a plain terminal set up the shell's machine, not
    the one LVM's commands there work on: they say so; in the shell itself they do not."""
    shell = tmp_path / "shell"
    env = {k: v for k, v in os.environ.items() if k not in ("LVSIM_SHELL", "LVSIM_STATE")}
    lvsim = [sys.executable, "-m", "lvsim.cli"]
    for args in (["lesson", "start", "thin-pool-basics"], ["drill", "pool-95"]):
        out = subprocess.run([*lvsim, *args, "--dir", str(shell)], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert f"work there (lvsim shell --dir {shell})" in out.stdout
        inside = subprocess.run(
            [*lvsim, *args], env={**env, "LVSIM_SHELL": str(shell)}, capture_output=True, text=True
        )
        assert inside.returncode == 0, inside.stderr
        assert "work there" not in inside.stdout
