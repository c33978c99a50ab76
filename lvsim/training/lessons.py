"""`lvsim lesson list | start NAME | check | hint | reset | solution`, the way rustlings teaches Rust.

Lessons (lvsim/training/lessons/NN-name.yaml, see `lvsim.training.exercise`) run on the machine of an
`lvsim shell` session: `start` wipes it, attaches the lesson's disks, writes its lvm.conf, runs its setup
and keeps that as the start point (`lvsim reset` / `lesson reset` go back to it); the trainee works in the
shell; `check` looks at the machine and says what holds and what does not yet.
"""

from __future__ import annotations

import os
from pathlib import Path

from lvsim.backend import open_backend
from lvsim.training import exercise, machine
from lvsim.training.session import LVM_CONF, Session, default_dir

KIND = "lesson"


class LessonError(Exception):
    """What was asked cannot be done; the message says why."""


def all_lessons() -> list[exercise.Exercise]:
    return exercise.catalogue("lessons")


def catalogue(kind: str = KIND) -> list[exercise.Exercise]:
    """The lessons, or the drills."""
    return all_lessons() if kind == KIND else exercise.catalogue("drills")


def find(name: str, kind: str = KIND) -> exercise.Exercise:
    items = catalogue(kind)
    for i, item in enumerate(items, 1):
        if name in (item.name, str(i)):
            return item
    known = ", ".join(item.name for item in items)
    raise LessonError(f"no {kind} {name!r} (there are: {known})")


def machine_of(session: Session, written: dict[str, list[object]] | None = None) -> exercise.Machine:
    """The session's machine, as a backend (its state file and its LVM_SYSTEM_DIR)."""
    backend = open_backend("sim", state_path=session.state, lvm_system_dir=session.etc)
    m = exercise.Machine(backend, session.work)
    m.values["work"] = str(session.work)
    for name, (device, offset, size) in (written or {}).items():
        m.written[name] = (str(device), int(str(offset)), int(str(size)))
    return m


def _header(item: exercise.Exercise, kind: str) -> str:
    return f"{kind.capitalize()} {item.name}: {item.title}"


def start(session: Session, name: str, kind: str = KIND) -> str:
    """Set the machine up for a lesson (or drill); what to show the trainee."""
    item = find(name, kind)
    try:
        machine.unmount_all(session.state, session.env())
        machine.reset_empty(session.state)
    except machine.MachineError as exc:
        raise LessonError(str(exc)) from None
    (session.etc / "lvm.conf").write_text(LVM_CONF)
    m = machine_of(session)
    try:
        m.setup(item)
    except exercise.ExerciseError as exc:
        raise LessonError(f"the {kind}'s setup failed: {exc}") from None
    machine.forget(session.state, machine.START)  # `lvsim reset` of a lesson starts it again
    progress = session.progress()
    progress.update(
        current=item.name,
        kind=kind,
        hints_shown=0,
        values=m.values,
        written={k: list(v) for k, v in m.written.items()},
    )
    session.set_progress(progress)
    return "\n\n".join(
        [
            _header(item, kind),
            m.sub(item.goal),
            m.sub(item.explanation),
            f"When you think you are done: lvsim {kind} check. Stuck: lvsim {kind} hint. "
            f"Start again: lvsim {kind} reset.",
        ]
    )


def current(session: Session, kind: str = KIND) -> exercise.Exercise:
    progress = session.progress()
    if not progress.get("current") or progress.get("kind") != kind:
        raise LessonError(f"no {kind} in progress: lvsim {kind} start NAME (lvsim {kind} list)")
    return find(progress["current"], kind)


def _session_machine(session: Session) -> exercise.Machine:
    progress = session.progress()
    m = machine_of(session, progress.get("written"))
    m.values.update(progress.get("values", {}))
    return m


def check(session: Session, kind: str = KIND) -> tuple[bool, str]:
    """(all checks hold, the report for the trainee); a passed lesson is marked done."""
    item = current(session, kind)
    m = _session_machine(session)
    lines = [_header(item, kind)]
    ok = True
    for verdict in exercise.verdicts(m, item.check):
        ok = ok and verdict.ok
        lines.append(f"  {'✓' if verdict.ok else '✗'} {verdict.text}")
    if ok:
        progress = session.progress()
        done = progress.setdefault("done", [])
        if item.name not in done:
            done.append(item.name)
        session.set_progress(progress)
        lines.append(f"\nDone! {_next(item) if kind == KIND else ''}".rstrip())
    else:
        lines.append(f"\nNot yet. lvsim {kind} hint gives a hint.")
    return ok, "\n".join(lines)


def _next(item: exercise.Exercise) -> str:
    names = [lesson.name for lesson in all_lessons()]
    i = names.index(item.name)
    if i + 1 < len(names):
        return f"Next: lvsim lesson start {names[i + 1]}"
    return "That was the last lesson: try a drill (lvsim drill list)."


def hint(session: Session, kind: str = KIND) -> str:
    item = current(session, kind)
    progress = session.progress()
    shown = int(progress.get("hints_shown", 0))
    if shown >= len(item.hints):
        return "No more hints. " + (f"lvsim {kind} solution shows a way to the goal." if kind == KIND else "")
    progress["hints_shown"] = shown + 1
    session.set_progress(progress)
    m = _session_machine(session)
    return f"Hint {shown + 1} of {len(item.hints)}: {m.sub(item.hints[shown])}"


def reset(session: Session, kind: str = KIND) -> str:
    """The lesson (or drill) in progress, started again from scratch."""
    item = current(session, kind)
    start(session, item.name, kind)
    return f"{_header(item, kind)}: back to the start."


def in_progress(session: Session) -> str | None:
    """ "lesson" or "drill" when one is in progress in the session."""
    progress = session.progress()
    return progress.get("kind") if progress.get("current") else None


def solution(session: Session, name: str | None) -> str:
    item = find(name) if name else current(session)
    m = _session_machine(session)
    lines = [f"A solution of {item.name}:"]
    for step in item.solution:
        if isinstance(step, str):
            lines.append(f"  {m.sub(step)}")
        elif "cmd" in step:
            lines.append(f"  {m.sub(str(step['cmd']))}")
        elif "wait" in step:
            lines.append(f"  lvsim clock advance {step['wait']}")
        elif "lvm_conf" in step:
            lines.append("  # $LVM_SYSTEM_DIR/lvm.conf:")
            lines += [f"  #   {line}" for line in m.sub(str(step["lvm_conf"])).splitlines()]
        elif "mkdir" in step:
            lines.append(f"  mkdir -p {m.sub(str(step['mkdir']))}")
    return "\n".join(lines)


def listing(session: Session, kind: str = KIND) -> str:
    progress = session.progress()
    done = set(progress.get("done", []))
    now = progress.get("current") if progress.get("kind") == kind else None
    lines = []
    for i, item in enumerate(catalogue(kind), 1):
        mark = "✓" if item.name in done else ("▶" if item.name == now else " ")
        lines.append(f"{mark} {i:2}. {item.name:<28} {item.title}")
    return "\n".join(lines)


def elsewhere_note(session: Session) -> str | None:
    """What to tell someone who starts a lesson or drill outside the shell whose machine it sets up
    (there, LVM commands and `lvsim clock` work on another machine)."""
    inside = os.environ.get("LVSIM_SHELL")
    if inside and Path(inside).resolve() == session.dir.resolve():
        return None
    where = "" if session.dir.resolve() == default_dir().resolve() else f" --dir {session.dir}"
    return (
        f"This is set up on the machine of the shell in {session.dir}: work there (lvsim shell{where}).\n"
        "Outside it, LVM's commands and lvsim clock work on another machine."
    )


def session_dir(explicit: Path | None) -> Path:
    """The session a lesson command works on: --dir, else the shell it runs in, else the default."""
    if explicit is not None:
        return explicit
    return Path(os.environ["LVSIM_SHELL"]) if os.environ.get("LVSIM_SHELL") else default_dir()
