"""Reading the command table: commands, their definitions, options, value types.

The definitions of a command live in their own module (`syntax/<command>_syntax.py`), imported
only when that command runs.
"""

from __future__ import annotations

import functools
import importlib

from lvsim.lvm.table.lvm2_commands import COMMANDS, COMMON_OPTIONS, PROGRAMS
from lvsim.lvm.table.lvm2_options import OPTIONS, SYNONYMS
from lvsim.lvm.table.records import Definition, Option, OptionSpec

# The commands whose --size may be given as --extents (lvm2's command_has_alternate_extents).
ALTERNATE_EXTENTS = frozenset({"lvcreate", "lvextend", "lvreduce", "lvresize"})

# Per-command value types of some options (lvm2's configure_command_option_values).
VALUE_OVERRIDES: dict[str, dict[str, str]] = {
    "lvresize": {"size": "SSizeMB", "extents": "SExtents", "poolmetadatasize": "PSizeMB"},
    "lvextend": {"size": "PSizeMB", "extents": "PExtents", "poolmetadatasize": "PSizeMB"},
    "lvreduce": {"size": "NSizeMB", "extents": "NExtents"},
    "lvconvert": {"mirrors": "SNumber"},
    "lvcreate": {
        "size": "PSizeMB",
        "extents": "PExtents",
        "poolmetadatasize": "PSizeMB",
        "mirrors": "PNumber",
    },
}

_read: dict[str, Option] = {}


def _options() -> dict[str, Option]:
    """The option table (lvm2_options.OPTIONS, plain text) as records, read on first use."""
    if not _read:
        for line in OPTIONS.splitlines():
            key, long, short, value, flags = (cell if cell != "-" else "" for cell in line.split())
            _read[key] = Option(long, short, value, "count" in flags, "group" in flags)
    return _read


def is_command(name: str) -> bool:
    return name in COMMANDS


def programs() -> tuple[str, ...]:
    """The commands lvm2 installs as programs of their own (the rest run as `lvm CMD`)."""
    return PROGRAMS


def description(name: str) -> str:
    return COMMANDS[name]


def definitions(name: str) -> tuple[Definition, ...]:
    """The command definitions of an LVM command, in lvm2's order."""
    module = importlib.import_module(f"lvsim.lvm.table.syntax.{name}_syntax")
    return module.DEFINITIONS


def option(key: str) -> Option:
    """An option by its key (lvm2's foo_ARG without _ARG, e.g. "size", "force_long")."""
    return _options()[key]


def option_keys() -> tuple[str, ...]:
    """Every option key, in lvm2's order (args.h): the order LVM reports unaccepted options in."""
    return tuple(_options())


def value_type(command: str, key: str) -> str:
    """The value type an option takes on this command ("" for a flag)."""
    return VALUE_OVERRIDES.get(command, {}).get(key) or option(key).value


def split_spec(spec: OptionSpec) -> tuple[str, str]:
    """ "size:SizeMB" -> ("size", "SizeMB"); "type=thin" -> ("type", "=thin"); "thin" -> ("thin", "")."""
    for sep in (":", "="):
        key, found, value = spec.partition(sep)
        if found:
            return key, value if sep == ":" else "=" + value
    return spec, ""


def common_options() -> tuple[OptionSpec, ...]:
    return COMMON_OPTIONS


def synonym(key: str, command: str) -> str:
    """The other name lvm2 accepts for an option on a command, or ""."""
    if key == "pvmetadatacopies" and command.startswith("pv"):
        return "metadatacopies"
    if key == "vgmetadatacopies" and command.startswith("vg"):
        return "metadatacopies"
    return SYNONYMS.get(key, "")


def standard(key: str, command: str) -> str:
    """The option a synonym stands for on a command (the key itself when it is none)."""
    if key == "metadatacopies":
        if command.startswith("pv"):
            return "pvmetadatacopies"
        if command.startswith("vg"):
            return "vgmetadatacopies"
        return key
    for std, syn in SYNONYMS.items():
        if syn == key:
            return std
    return key


@functools.cache
def valid_options(command: str) -> tuple[str, ...]:
    """The option keys getopt knows for a command: what any of its definitions mentions (lvm2's
    union of required, optional and ignored options), with --extents beside --size and the synonyms,
    in lvm2's option order (worked out once per command and process)."""
    mentioned = {split_spec(spec)[0] for spec in COMMON_OPTIONS}
    for d in definitions(command):
        for specs in (d.required, d.any_required, d.optional, d.ignored):
            mentioned.update(split_spec(spec)[0] for spec in specs)
    keys: dict[str, None] = {}
    for key in _options():
        if key not in mentioned:
            continue
        keys[key] = None
        if key == "size":
            keys["extents"] = None
        other = synonym(key, command)
        if other:
            keys[other] = None
        if key in ("allocatable", "resizeable"):
            keys["allocation"] = None
    return tuple(keys)
