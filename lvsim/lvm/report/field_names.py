"""Report field names: lookup as LVM's _get_field does, "-o help" listings, and the setup error.

Shared by the report definition (`engine`) and the selection parser (`select`).
"""

from __future__ import annotations

from lvsim.lvm.report.fields import FIELDS, IMPLICIT, SPECIAL, TYPE_PREFIX, TYPES, Field

_CANON: dict[str, int] = {}
for _i, _f in enumerate(FIELDS):
    _CANON.setdefault(_f.canon, _i)


class ReportError(Exception):
    """The report cannot be set up; the messages are already on the console."""


# ---------------------------------------------------------------------------------------------
# Field names


def find_field(name: str, prefix: str) -> Field | None:
    """_get_field: case- and underscore-insensitive, with or without the report's prefix."""
    canon = name.replace("_", "").lower()
    if not canon:
        return None
    short = prefix[:-1]
    for f in IMPLICIT:
        if f.canon == canon or f.canon == short + canon:
            return f
    hits = [i for i in (_CANON.get(canon), _CANON.get(short + canon)) if i is not None]
    return FIELDS[min(hits)] if hits else None


def all_types(word: str, prefix: str, current: int) -> int:
    """_all_match: "all" (every type of the report's prefix) or "<prefix>all"."""
    canon = word.replace("_", "").lower()
    unprefixed = False
    types = 0
    if canon == "all" and len(word) == 3:
        if not prefix:
            return current or sum(t for t, _, _ in TYPES)
        unprefixed = True
        canon = prefix.replace("_", "").lower()
        types = current
    for t, _, p in TYPES:
        plen = len(p) - 1
        if canon[:plen] == p[:plen] and (
            (unprefixed and len(canon) == plen) or (canon[plen:] == "all" and len(canon) == plen + 3)
        ):
            types |= t
    return types


def field_help(with_all: bool, with_types: bool) -> list[str]:
    """_display_fields: every field by section, as LVM prints it (to stderr) for -o help."""
    id_len = max(len(f.name) for f in FIELDS + IMPLICIT)
    id_len = max(id_len, *(len(p) + 3 for _, _, p in TYPES))
    type_names = {0: "string", 1: "number", 2: "number", 3: "size", 4: "percent", 5: "time", 6: "string list"}
    lines: list[str] = []
    for group in (FIELDS, IMPLICIT):
        last = ""
        for f in group:
            desc = "Special" if f.otype == SPECIAL else next(d for t, d, _ in TYPES if t == f.otype)
            if desc != last:
                if last:
                    lines.append(" ")
                lines += [f"{desc} Fields", "-" * (len(desc) + 7)]
                if with_all and f.otype != SPECIAL:
                    prefix = TYPE_PREFIX[f.otype]
                    lines.append(
                        f"  {prefix}all{'':<{id_len - 3 - len(prefix)}} - All fields in this section."
                    )
            extra = ""
            if with_types:
                unselectable = "unselectable " if f.name in ("help", "?") else ""
                extra = f" [{unselectable}{type_names[f.kind]}]"
            lines.append(f"  {f.name:<{id_len}} - {f.desc}{extra}")
            last = desc
        if group is FIELDS:
            lines.append(" ")
    return lines
