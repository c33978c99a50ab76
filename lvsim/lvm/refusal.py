"""lvsim's refusal of what it does not emulate: one line naming it, then exit code NOT_EMULATED.

What lvsim emulates is listed in `lvsim.lvm.table.emulated`; a command line LVM accepts that goes
beyond it fails here, before the command does anything.
"""

from __future__ import annotations

from typing import NoReturn, Protocol

from lvsim.core.errors import NOT_EMULATED, LvmError
from lvsim.lvm.table import emulated, lookup
from lvsim.lvm.table.records import Definition


class _Given(Protocol):
    raw: dict[str, list[str]]


def refuse(what: str) -> NoReturn:
    raise LvmError(rc=NOT_EMULATED, raw=f"lvsim: {what} is not emulated")


def check_command(command: str) -> None:
    """An LVM command lvsim has no emulation of at all is refused whatever its arguments."""
    if command not in emulated.DEFINITIONS:
        refuse(command)


def _syntax(command: str, d: Definition, given: _Given) -> str:
    """A definition in the user's words: its required options (with the literal values it needs),
    or else its positionals; and what it does."""
    words = []
    for spec in d.required:
        key, value = lookup.split_spec(spec)
        words.append(
            f"--{lookup.option(key).long}" + (f" {given.raw[key][-1]}" if value.startswith("=") else "")
        )
    if not words:
        words = list(d.positionals)
    text = " ".join([command, *words])
    return f"{text} ({d.desc[0]})" if d.desc else text


def check_emulated(command: str, d: Definition, given: _Given) -> None:
    """Refuse a matched command line whose definition or options lvsim does not emulate."""
    check_command(command)
    allowed = emulated.DEFINITIONS[command].get(d.id)
    if allowed is None:
        refuse(_syntax(command, d, given))
    required = {lookup.split_spec(s)[0] for s in d.required}  # "any one of" options are listed
    for key in given.raw:
        wanted = "size" if key == "extents" else key
        if wanted in emulated.EVERYWHERE or wanted in required or wanted in allowed:
            continue
        name = f"{command} --{lookup.option(key).long}"
        if any(key in opts for opts in emulated.DEFINITIONS[command].values()):
            refuse(f"{name} with {_syntax(command, d, given)}")
        refuse(name)


def check_fields(command: str, names: list[str]) -> None:
    """Refuse a report that would show, sort or select on a field lvsim does not compute."""
    for name in names:
        if name not in emulated.FIELDS and name not in ("help", "?", "selected"):
            refuse(f"{command} field {name}")
