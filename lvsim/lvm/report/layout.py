"""Turning report rows into LVM's text: aligned columns, --rows, --nameprefixes and JSON.

Every line LVM prints goes through its logger, which prefixes two spaces.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from lvsim.core.units import percent_text
from lvsim.lvm.report.fields import BIN, NUM, PCT, SIZ, STR, STRL, TIM, UNDEF, Env, Field

BIN_WORDS = {
    "lv_initial_image_sync": "initial image sync",
    "lv_image_synced": "image synced",
    "lv_merging": "merging",
    "lv_converting": "converting",
    "lv_allocation_locked": "allocation locked",
    "lv_fixed_minor": "fixed minor",
    "lv_skip_activation": "skip activation",
    "lv_autoactivation": "enabled",
    "lv_active_locally": "active locally",
    "lv_active_remotely": "active remotely",
    "lv_active_exclusively": "active exclusively",
    "lv_historical": "historical",
    "lv_suspended": "suspended",
    "lv_live_table": "live table present",
    "lv_inactive_table": "inactive table present",
    "lv_device_open": "open",
    "lv_check_needed": "check needed",
    "lv_merge_failed": "merge failed",
    "lv_snapshot_invalid": "snapshot invalid",
    "pv_allocatable": "allocatable",
    "pv_exported": "exported",
    "pv_missing": "missing",
    "pv_in_use": "used",
    "pv_duplicate": "duplicate",
    "vg_extendable": "extendable",
    "vg_exported": "exported",
    "vg_autoactivation": "enabled",
    "vg_partial": "partial",
    "vg_clustered": "clustered",
    "vg_shared": "shared",
    "zero": "zero",
    "vdo_compression": "enabled",
    "vdo_deduplication": "enabled",
    "vdo_use_metadata_hints": "enabled",
    "vdo_use_sparse_index": "enabled",
}


def cell(field: Field, raw: Any, env: Env) -> tuple[str, Any]:
    """A getter's raw value as (display text, sort/selection value)."""
    if type(raw) is tuple:
        return raw
    kind = field.kind
    if kind == STR:
        return raw, raw
    if raw is None:
        if kind == BIN:
            return ("-1" if env.binary else "unknown"), UNDEF
        return "", UNDEF
    if kind == SIZ:
        return env.size(raw), raw
    if kind == NUM:
        return str(raw), raw if raw >= 0 else raw + 2**64
    if kind == BIN:
        if env.binary:
            return ("1" if raw else "0"), int(bool(raw))
        return (BIN_WORDS.get(field.name, "") if raw else ""), int(bool(raw))
    if kind == PCT:
        return percent_text(raw), raw
    if kind == STRL:
        items = sorted(raw) if field.sort_list else raw
        return field.sep.join(items), sorted(items)
    return str(raw), raw  # TIM getters return tuples; keep a fallback


def text_of(field: Field, env: Env) -> Callable[[Any], str]:
    """A fast raw value -> display text function for a column that is only shown."""
    kind = field.kind
    if kind == STR:
        return lambda raw: raw if type(raw) is str else raw[0]
    if kind == SIZ:
        size = env.size
        return lambda raw: raw[0] if type(raw) is tuple else ("" if raw is None else size(raw))
    if kind == PCT:
        return lambda raw: "" if raw is None else percent_text(raw)
    return lambda raw: cell(field, raw, env)[0]


def sort_key(field: Field, text: str, value: Any) -> Any:
    """How LVM's qsort orders a column: numbers by value, everything else by strcmp of the sort value.

    Percent and some string fields keep a numeric sort value that LVM then compares with strcmp
    (byte by byte, up to the first NUL); that quirk is reproduced.
    """
    if field.kind in (NUM, BIN, SIZ, TIM):
        return value
    if field.kind == STRL:
        return text.encode()
    if isinstance(value, str):
        return value.encode()
    return struct.pack("<Q", value & UNDEF).split(b"\0", 1)[0]


def _out(lines: list[str], text: str) -> None:
    lines.append(f"  {text}\n")


def text_lines(
    columns: list[Field],
    rows: list[list[str]],
    *,
    headings: bool,
    aligned: bool,
    separator: str,
    prefixes: bool = False,
    quoted: bool = True,
) -> list[str]:
    """Column output (_output_as_columns): a heading line, then one line per row."""
    lines: list[str] = []
    widths = [f.width for f in columns]
    for values in rows:
        for i, v in enumerate(values):
            if len(v) > widths[i]:
                widths[i] = len(v)
    if headings:
        if aligned:
            heads = [f.heading[:w].ljust(w) for f, w in zip(columns, widths, strict=True)]
        else:
            heads = [f.heading for f in columns]
        _out(lines, separator.join(heads))
    for values in rows:
        if prefixes:  # aligned only by report/prefixes (--nameprefixes clears report/aligned)
            quote = "'" if quoted else ""
            if aligned:
                values = [
                    (v.rjust(w) if f.right else v.ljust(w))
                    for f, v, w in zip(columns, values, widths, strict=True)
                ]
            parts = [f"LVM2_{f.name.upper()}={quote}{v}{quote}" for f, v in zip(columns, values, strict=True)]
        elif aligned:
            parts = [
                (v.rjust(w) if f.right else v.ljust(w))
                for f, v, w in zip(columns, values, widths, strict=True)
            ]
        else:
            parts = values
        _out(lines, separator.join(parts))
    return lines


def row_lines(columns: list[Field], rows: list[list[str]], *, headings: bool, separator: str) -> list[str]:
    """--rows output (_output_as_rows): one line per field, never aligned."""
    lines: list[str] = []
    for i, field in enumerate(columns):
        head = field.heading + separator if headings else ""
        _out(lines, head + separator.join(values[i] for values in rows))
    return lines


def _json_escape(text: str) -> str:
    return text.replace('"', '\\"')


def json_report(name: str, columns: list[Field], rows: list[list[str]]) -> list[str]:
    """One report's array inside the "report" group, as dm_report_output prints it in JSON mode."""
    lines = ["          {\n", f'              "{name}": [\n']
    last = len(rows) - 1
    for n, values in enumerate(rows):
        body = ", ".join(f'"{f.name}":"{_json_escape(v)}"' for f, v in zip(columns, values, strict=True))
        lines.append(f"                  {{{body}}}{',' if n < last else ''}\n")
    lines += ["              ]\n", "          }\n"]
    return lines


JSON_OPEN = ["  {\n", '      "report": [\n']
JSON_CLOSE = ["      ]\n", "  }\n"]
