"""COVERAGE.md: what lvsim emulates of LVM's commands, command definitions, options and report
fields, and the golden transcripts that show each emulated one on real LVM.

    python -m lvsim.lvm.table.coverage [PATH]     # rewrite COVERAGE.md (or check it: --check)
"""

from __future__ import annotations

import shlex
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lvsim.core.errors import NOT_EMULATED, LvmError
from lvsim.lvm.table import emulated, lookup
from lvsim.lvm.table.lvm2_commands import COMMANDS, PROGRAMS
from lvsim.lvm.table.lvm2_fields import REPORT_FIELDS

ROOT = Path(__file__).resolve().parents[3]
COVERAGE_MD = ROOT / "COVERAGE.md"
REPORTS = ("lvs", "vgs", "pvs")


@dataclass
class Evidence:
    """Which golden cases show each command, definition, option and report field on real LVM."""

    commands: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    definitions: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    options: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    fields: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def golden_evidence() -> Evidence:
    """Read every golden recording's steps with the table's parser (nothing is run)."""
    from lvsim.lvm.parser import parse_lvm
    from lvsim.lvm.report.engine import report_fields
    from lvsim.testing.transcript import load_recording, recordings

    evidence = Evidence()
    for path in recordings():
        recording = load_recording(path)
        case = recording["name"]
        for step in recording["steps"]:
            if "cmd" not in step:  # time passing, a directory made: no command (lvsim.testing.transcript)
                continue
            argv = shlex.split(step["cmd"])
            if argv[0] == "lvm" and len(argv) > 1:
                argv = argv[1:]
            command = argv[0]
            if not lookup.is_command(command):
                continue
            evidence.commands[command].add(case)
            try:
                line, definition = parse_lvm(command, argv[1:])
            except LvmError:
                continue
            evidence.definitions[command, definition.id].add(case)
            for key in line.raw:
                evidence.options[command, key].add(case)
            if command in REPORTS and step["rc"] == 0:
                for name in report_fields(command, line.args()):
                    evidence.fields[name].add(case)
    return evidence


def option_status(command: str, key: str) -> bool:
    """Whether lvsim emulates an option of a command in at least one definition."""
    if key in emulated.EVERYWHERE and command in emulated.DEFINITIONS:
        return True
    defs = emulated.DEFINITIONS.get(command, {})
    for d in lookup.definitions(command):
        if d.id in defs and (key in defs[d.id] or key in {lookup.split_spec(s)[0] for s in d.required}):
            return True
    return False


def command_options(command: str) -> list[str]:
    """The options a command's definitions mention, in lvm2's order (synonyms left out)."""
    mentioned = {lookup.split_spec(s)[0] for s in lookup.common_options()}
    for d in lookup.definitions(command):
        for specs in (d.required, d.any_required, d.optional):
            mentioned.update(lookup.split_spec(s)[0] for s in specs)
    if "size" in mentioned and command in lookup.ALTERNATE_EXTENTS:
        mentioned.add("extents")
    return [k for k in lookup.option_keys() if k in mentioned]


def _cases(names: set[str], limit: int = 3) -> str:
    shown = sorted(names)[:limit]
    return ", ".join(shown) + (f" (+{len(names) - limit})" if len(names) > limit else "")


def _mark(ok: bool) -> str:
    return "emulated" if ok else "refused"


def render(evidence: Evidence) -> str:
    """The text of COVERAGE.md."""
    defs_all = {name: lookup.definitions(name) for name in COMMANDS}
    n_defs = sum(len(d) for d in defs_all.values())
    n_defs_ok = sum(
        1 for name, ds in defs_all.items() for d in ds if d.id in emulated.DEFINITIONS.get(name, {})
    )
    pairs = [(c, k) for c in COMMANDS for k in command_options(c)]
    n_pairs_ok = sum(option_status(c, k) for c, k in pairs)
    n_fields_ok = sum(f.name in emulated.FIELDS for f in REPORT_FIELDS)
    out = [
        "# lvsim's coverage of LVM 2.03.16",
        "",
        "Generated from the command table (`lvsim/lvm/table/`) and the golden transcripts",
        "(`tests/golden/recorded/`) by `lvsim coverage`; do not edit by hand.",
        "",
        "**emulated**: lvsim does what LVM does, byte for byte, as the golden cases named beside it show on",
        "real LVM. **refused**: lvsim does nothing and fails with one line `lvsim: ... is not emulated` and",
        f"exit code {NOT_EMULATED}, a code LVM never uses (LVM's own are 0 to 5). Options and report fields",
        "are refused wherever they are not emulated, also in emulated commands.",
        "",
        "| | emulated | of |",
        "|---|---:|---:|",
        f"| commands | {sum(c in emulated.DEFINITIONS for c in COMMANDS)} | {len(COMMANDS)} |",
        f"| command definitions | {n_defs_ok} | {n_defs} |",
        f"| options of commands (command, option) | {n_pairs_ok} | {len(pairs)} |",
        f"| report fields | {n_fields_ok} | {len(REPORT_FIELDS)} |",
        "",
        "## Commands",
        "",
        "| command | status | program | golden cases |",
        "|---|---|---|---|",
    ]
    for name in COMMANDS:
        ok = name in emulated.DEFINITIONS
        program = "yes" if name in PROGRAMS else f"`lvm {name}`"
        out.append(
            f"| {name} | {_mark(ok)} | {program} | {_cases(evidence.commands.get(name, set())) if ok else ''} |"
        )
    for name in COMMANDS:
        if name not in emulated.DEFINITIONS:
            continue
        out += [
            "",
            f"## {name}",
            "",
            f"{COMMANDS[name]}.",
            "",
            "| definition | status | golden cases |",
            "|---|---|---|",
        ]
        for d in defs_all[name]:
            ok = d.id in emulated.DEFINITIONS[name]
            cases = _cases(evidence.definitions.get((name, d.id), set())) if ok else ""
            syntax = " ".join(
                [
                    name,
                    *(f"--{lookup.option(lookup.split_spec(s)[0]).long}" for s in d.required),
                    *(p for p in d.positionals),
                ]
            )
            out.append(f"| `{d.id}`: {syntax} | {_mark(ok)} | {cases} |")
        out += ["", "| option | status | golden cases |", "|---|---|---|"]
        for key in command_options(name):
            opt = lookup.option(key)
            label = f"-{opt.short}, --{opt.long}" if opt.short else f"--{opt.long}"
            ok = option_status(name, key)
            cases = _cases(evidence.options.get((name, key), set())) if ok else ""
            out.append(f"| {label} | {_mark(ok)} | {cases} |")
    out += ["", "## Refused commands", ""]
    for name in COMMANDS:
        if name not in emulated.DEFINITIONS:
            out.append(f"- **{name}**: {COMMANDS[name]}")
    out += ["", "## Report fields", "", "| field | report | status | golden cases |", "|---|---|---|---|"]
    for f in REPORT_FIELDS:
        ok = f.name in emulated.FIELDS
        cases = _cases(evidence.fields.get(f.name, set())) if ok else ""
        out.append(f"| {f.name} | {f.report} | {_mark(ok)} | {cases} |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"]
    path = Path(paths[0]) if paths else COVERAGE_MD
    text = render(golden_evidence())
    if check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is stale: run `lvsim coverage`", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"{path} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
