"""The training commands of the `lvsim` program: registered on its typer app by `register(app)`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from lvsim.core import store

if TYPE_CHECKING:
    from lvsim.training.session import Session

T = TypeVar("T")

StateOpt = Annotated[
    Path | None, typer.Option("--state", help="State file (default $LVSIM_STATE or ./.lvsim/state).")
]


def _path(state: Path | None) -> Path:
    return state or store.default_path()


def _die(msg: str, rc: int = 5) -> None:
    typer.echo(f"lvsim: {msg}", err=True)
    raise typer.Exit(rc)


def show(
    state: StateOpt = None,
    color: Annotated[
        bool | None, typer.Option("--color/--no-color", help="Colour (default: on a terminal).")
    ] = None,
) -> None:
    """A picture of the VGs, thin pools, thin volumes and snapshots: used, free, over-committed."""
    from lvsim.training import commands

    commands.show(_path(state), color=color)


def watch(
    state: StateOpt = None,
    interval: Annotated[float, typer.Option("--interval", "-n", help="Seconds between redraws.")] = 1.0,
) -> None:
    """The same picture, redrawn live (for a second terminal); Ctrl-C ends it."""
    from lvsim.training import commands

    commands.watch(_path(state), interval)


def log(state: StateOpt = None) -> None:
    """What dmeventd logged (autoextend, "is now N% full" warnings), on the simulated clock."""
    from lvsim.training import commands

    commands.journal(_path(state))


def save(
    name: Annotated[str, typer.Argument(help="A name for the save point.")], state: StateOpt = None
) -> None:
    """Save the simulated machine as it is now."""
    from lvsim.training import machine

    try:
        machine.save(_path(state), name)
    except machine.MachineError as exc:
        _die(str(exc), 2)
    typer.echo(f"saved {name!r}")


def restore(
    name: Annotated[str | None, typer.Argument(help="The save point (none: list them).")] = None,
    state: StateOpt = None,
) -> None:
    """Make the simulated machine what it was at a save point."""
    from lvsim.training import machine

    path = _path(state)
    if name is None:
        for point in machine.points(path):
            typer.echo(point)
        return
    try:
        machine.restore(path, name)
    except machine.MachineError as exc:
        _die(str(exc), 2)
    typer.echo(f"restored {name!r}")


def reset(state: StateOpt = None) -> None:
    """Back to the start of the shell, lesson or drill (or to an empty machine)."""
    from lvsim.training import lessons, machine, session

    path = _path(state)
    where = session.Session(path.parent.absolute())
    kind = lessons.in_progress(where) if where.state == path.absolute() else None
    if kind is not None:  # a lesson or drill: started again from its setup
        typer.echo(_lesson_call(lessons.reset, where, kind))
        return
    try:
        started = machine.reset(path)
    except machine.MachineError as exc:
        _die(str(exc), 2)
    typer.echo("back to the start" if started else "an empty machine: no disks, no VGs")


DirOpt = Annotated[
    Path | None, typer.Option("--dir", help="The session's directory (default ~/.lvsim/shell).")
]


def shell(
    lesson: Annotated[str | None, typer.Option("--lesson", help="Start this lesson in the shell.")] = None,
    directory: DirOpt = None,
) -> None:
    """An interactive bash on a simulated machine of its own (prompt: each thin pool's Data%, Meta%).

    LVM's commands, lvm.conf and dmeventd on the simulated clock; --lesson starts a lesson in it."""
    from lvsim.training import session

    where = session.prepare(directory or session.default_dir())
    if lesson is not None:
        from lvsim.training import lessons

        try:
            typer.echo(lessons.start(where, lesson))
        except lessons.LessonError as exc:
            _die(str(exc), 2)
    raise typer.Exit(session.launch(where))


lesson_app = typer.Typer(no_args_is_help=True, help="Lessons, from first principles to the backup workflows.")


def _lesson_session(directory: Path | None) -> Session:
    from lvsim.training import lessons, session

    return session.prepare(lessons.session_dir(directory))


def _lesson_call(fn: Callable[..., T], *args: object) -> T:
    """fn(*args), a LessonError said in one line (exit 2)."""
    from lvsim.training import exercise, lessons

    try:
        return fn(*args)
    except (lessons.LessonError, exercise.ExerciseError) as exc:
        _die(str(exc), 2)
    raise AssertionError("unreachable")


def _say_elsewhere(where: Session) -> None:
    from lvsim.training import lessons

    note = lessons.elsewhere_note(where)
    if note is not None:
        typer.echo(f"\n{note}")


@lesson_app.command("list")
def lesson_list(directory: DirOpt = None) -> None:
    """The lessons, with those done ticked."""
    from lvsim.training import lessons

    typer.echo(lessons.listing(_lesson_session(directory)))


@lesson_app.command("start")
def lesson_start(
    name: Annotated[str, typer.Argument(help="The lesson's name or number.")], directory: DirOpt = None
) -> None:
    """Set the shell's machine up for a lesson and show its goal (what was on the machine is lost)."""
    from lvsim.training import lessons

    where = _lesson_session(directory)
    typer.echo(_lesson_call(lessons.start, where, name))
    _say_elsewhere(where)


@lesson_app.command("check")
def lesson_check(directory: DirOpt = None) -> None:
    """Is the lesson's goal reached? (exit 0 when it is)"""
    from lvsim.training import lessons

    ok, text = _lesson_call(lessons.check, _lesson_session(directory))
    typer.echo(text)
    raise typer.Exit(0 if ok else 1)


@lesson_app.command("hint")
def lesson_hint(directory: DirOpt = None) -> None:
    """The next hint."""
    from lvsim.training import lessons

    typer.echo(_lesson_call(lessons.hint, _lesson_session(directory)))


@lesson_app.command("reset")
def lesson_reset(directory: DirOpt = None) -> None:
    """Start the lesson again from its first state."""
    from lvsim.training import lessons

    typer.echo(_lesson_call(lessons.reset, _lesson_session(directory)))


@lesson_app.command("solution")
def lesson_solution(
    name: Annotated[str | None, typer.Argument(help="A lesson (default: the current one).")] = None,
    directory: DirOpt = None,
) -> None:
    """A way to the goal (commands, lvm.conf, waiting)."""
    from lvsim.training import lessons

    typer.echo(_lesson_call(lessons.solution, _lesson_session(directory), name))


def drill(
    what: Annotated[str, typer.Argument(help="A drill to start, or list, check, hint, reset.")] = "list",
    directory: DirOpt = None,
) -> None:
    """Drills a trainer can start (`lvsim drill list`, `lvsim drill NAME`, `lvsim drill check`).

    A pool filling up or a snapshot overflowing while an application still writes; `lvsim drill
    check` says how it went."""
    from lvsim.training import lessons

    where = _lesson_session(directory)
    if what == "list":
        typer.echo(lessons.listing(where, "drill"))
    elif what == "check":
        ok, text = _lesson_call(lessons.check, where, "drill")
        typer.echo(text)
        raise typer.Exit(0 if ok else 1)
    elif what == "hint":
        typer.echo(_lesson_call(lessons.hint, where, "drill"))
    elif what == "reset":
        typer.echo(_lesson_call(lessons.reset, where, "drill"))
    else:
        typer.echo(_lesson_call(lessons.start, where, what, "drill"))
        _say_elsewhere(where)


def register(app: typer.Typer) -> None:
    for fn in (show, watch, log, save, restore, reset, shell, drill):
        app.command()(fn)
    app.add_typer(lesson_app, name="lesson")
