"""The record types of the command table: options, command definitions, report fields.

Plain named tuples, so that the generated modules that hold LVM's facts load fast (a shim
imports them on every call).
"""

from __future__ import annotations

from typing import NamedTuple


class Option(NamedTuple):
    """One of LVM's options (tools/args.h): `--long` and `-short`, and the value type it takes.

    lvm2_options.OPTIONS holds them as a text table, which `lvsim.lvm.table.lookup.option` reads.
    """

    long: str  # without the leading "--"; "" for -? (help2)
    short: str = ""  # one letter, or ""
    value: str = ""  # a value type of VALUES (e.g. "SizeMB"), "" for a flag
    countable: bool = False  # may be given several times (-v -v, -f -f)
    groupable: bool = False  # each repetition starts a new group of values (-o a -o b)


# An option in a command definition: "key" (a flag), "key:ValueType" (e.g. "size:SizeMB",
# "thinpool:LV_new") or "key=literal", a value the user must give (e.g. "type=thin-pool").
OptionSpec = str


class Rule(NamedTuple):
    """An option-only RULE of a definition, checked once the definition matched.

    When `when` is empty the rule always applies, else when one of `when` is given; then with
    kind "not" none of `check` may be given, with kind "and" all of them must be.
    """

    when: tuple[str, ...]
    kind: str
    check: tuple[str, ...]


class Definition(NamedTuple):
    """One command definition of tools/command-lines.in.

    Every definition also takes the common options (COMMON_OPTIONS) before its own optional ones.
    Positionals are lvm2's words: "VG", "LV_thinpool", "VG|LV|Tag|Select ...", "PV ...".
    """

    id: str
    required: tuple[OptionSpec, ...] = ()
    any_required: tuple[OptionSpec, ...] = ()  # at least one of these (lvchange/vgchange forms)
    positionals: tuple[str, ...] = ()
    optional: tuple[OptionSpec, ...] = ()
    optional_positionals: tuple[str, ...] = ()
    ignored: tuple[OptionSpec, ...] = ()  # accepted, then treated as not given
    desc: tuple[str, ...] = ()  # the lines LVM prints with the syntax
    secondary: bool = False  # shown only by --longhelp (or when a command has fewer than 3 forms)
    previous: bool = False  # an old syntax, never shown
    autotypes: tuple[str, ...] = ()  # the --type this definition implies
    rules: tuple[Rule, ...] = ()


class ReportField(NamedTuple):
    """One report field of lib/report/columns.h."""

    name: str
    report: str  # report object type: LVS, LVSINFO, LVSSTATUS, LVSINFOSTATUS, PVS, LABEL, VGS, SEGS, PVSEGS
    kind: str  # STR, NUM, SNUM, BIN, SIZ, PCT, TIM, STR_LIST
    heading: str
    width: int
    desc: str
