"""The command table: LVM's facts as lvm2 2.03.16 states them, what lvsim marks emulated and the
golden transcripts behind it, and COVERAGE.md."""

from __future__ import annotations

import functools

import pytest

from lvsim import dispatch
from lvsim.lvm.table import coverage, emulated, lookup
from lvsim.lvm.table.helptext import lvm_help
from lvsim.lvm.table.lvm2_commands import COMMANDS
from lvsim.lvm.table.lvm2_fields import REPORT_FIELDS
from lvsim.lvm.table.lvm2_options import VALUES
from lvsim.lvm.table.records import Option


@functools.cache
def _evidence() -> coverage.Evidence:
    return coverage.golden_evidence()


def _keys(specs: tuple[str, ...]) -> set[str]:
    return {lookup.split_spec(s)[0] for s in specs}


def test_table_holds_what_lvm2_declares() -> None:
    assert len(COMMANDS) == 59 and len(REPORT_FIELDS) == 218 and len(lookup.option_keys()) == 243
    assert sum(len(lookup.definitions(name)) for name in COMMANDS) == 191
    assert len(lookup.definitions("lvcreate")) == 43 and len(lookup.definitions("lvconvert")) == 41
    assert lookup.option("size") == Option("size", "L", "SizeMB")
    assert lookup.option("force") == Option("force", "f", "", countable=True)
    assert lookup.option("options") == Option("options", "o", "String", groupable=True)
    assert lookup.option("help2") == Option("", "?")
    assert lookup.value_type("lvextend", "size") == "PSizeMB" and lookup.value_type("lvs", "units") == "Units"
    assert (
        "version" not in lookup.programs()
        and "lvdisplay" in lookup.programs()
        and len(lookup.programs()) == 45
    )
    linear = lookup.definitions("lvcreate")[3]
    assert (linear.id, linear.required, linear.positionals) == ("lvcreate_linear", ("size:SizeMB",), ("VG",))
    assert linear.optional_positionals == ("PV ...",) and linear.autotypes == ("linear",)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_definitions_name_known_options_and_values(name: str) -> None:
    for d in lookup.definitions(name):
        for spec in (*d.required, *d.any_required, *d.optional, *d.ignored):
            key, value = lookup.split_spec(spec)
            assert key in lookup.option_keys(), (d.id, spec)
            if value and not value.startswith("="):
                assert all(v.split("_")[0] in VALUES for v in value.split("|")), (d.id, spec)
        for word in (*d.positionals, *d.optional_positionals):
            assert all(v.split("_")[0] in VALUES for v in word.removesuffix(" ...").split("|")), (d.id, word)


def test_emulated_entries_are_in_the_table() -> None:
    fields = {f.name for f in REPORT_FIELDS}
    assert fields >= emulated.FIELDS
    for name, defs in emulated.DEFINITIONS.items():
        takes: dict[str, set[str]] = {}  # definition id -> what its forms take (some ids have several)
        for d in lookup.definitions(name):
            keys = _keys(lookup.common_options()) | _keys(d.required + d.any_required + d.optional)
            takes.setdefault(d.id, set()).update(keys)
        for def_id, options in defs.items():
            assert options <= takes[def_id], (def_id, options - takes[def_id])


def test_every_lvm2_program_has_a_shim() -> None:
    assert set(lookup.programs()) | {"lvm", "losetup", "dd"} <= set(dispatch.command_names())


def test_lvm_help_lists_every_command() -> None:
    lines = lvm_help()
    assert lines[:3] == ["Available lvm commands:", "Use 'lvm help <command>' for more information", " "]
    assert [line[:16].rstrip() for line in lines[3:]] == list(COMMANDS)


# Emulated from facts recorded in the VM that other tests assert (test_dmeventd, test_lvm_config, the
# display and clients' tests) but not yet shown by a step of a golden transcript: each needs a golden
# case; the list may only shrink.
NOT_YET_IN_GOLDEN: frozenset[str] = frozenset()  # empty: every emulated option is shown


def test_emulated_options_appear_in_golden_transcripts() -> None:
    """An option marked emulated must be shown on real LVM by some recorded step of that command."""
    evidence = _evidence()
    everywhere = {key for (_, key) in evidence.options}
    missing = []
    for name in emulated.DEFINITIONS:
        for key in coverage.command_options(name):
            if not coverage.option_status(name, key):
                continue
            seen = key in everywhere if key in emulated.EVERYWHERE else (name, key) in evidence.options
            if not seen and not (key == "extents" and (name, "size") in evidence.options):
                missing.append(f"{name} --{lookup.option(key).long}")
    missing = [m for m in missing if m not in NOT_YET_IN_GOLDEN]
    assert not missing, f"emulated but in no golden step: {missing}"


def test_emulated_definitions_and_fields_appear_in_golden_transcripts() -> None:
    evidence = _evidence()
    missing = [
        f"{name} {def_id}"
        for name, defs in emulated.DEFINITIONS.items()
        for def_id in defs
        if (name, def_id) not in evidence.definitions and name not in ("help", "version")
    ]
    missing += [f"field {f}" for f in sorted(emulated.FIELDS) if f not in evidence.fields]
    missing = [m for m in missing if m not in NOT_YET_IN_GOLDEN]
    assert not missing, f"emulated but in no golden step: {missing}"


def test_coverage_md_is_current() -> None:
    assert coverage.COVERAGE_MD.read_text() == coverage.render(_evidence()), (
        "COVERAGE.md is stale: run `python -m lvsim.lvm.table.coverage`"
    )
