"""LVM's name rules for VGs and LVs, and how command-line names are resolved."""

from __future__ import annotations

import re

from lvsim.core.errors import ECMD_FAILED, EINVALID_CMD_LINE, LvmError
from lvsim.core.model import VG, State

_VALID = re.compile(r"[a-zA-Z0-9+_.-]*")
NAME_LEN = 128
RESERVED_PREFIXES = ("snapshot", "pvmove")
RESERVED_SUBSTRINGS = (
    "_cdata",
    "_cmeta",
    "_corig",
    "_cpool",
    "_cvol",
    "_wcorig",
    "_mimage",
    "_mlog",
    "_rimage",
    "_rmeta",
    "_tdata",
    "_tmeta",
    "_vdata",
    "_imeta",
    "_iorig",
    "_pmspare",
    "_vorigin",
)


def name_problem(name: str) -> str:
    """Why `name` breaks the basic rules (_validate_name), or "" if it is fine."""
    if not name:
        return "Name is zero length."
    if len(name) >= NAME_LEN:
        return f"Name length exceeds maximum limit of {NAME_LEN - 1}."
    if name[0] == "-":
        return "Name cannot start with hyphen."
    if name in (".", ".."):
        return "Name starts with . or .. and has no following character(s)."
    if not _VALID.fullmatch(name):
        return "Name contains invalid character, valid set includes: [a-zA-Z0-9.-_+]."
    return ""


def check_new_vg_name(name: str, command: str) -> None:
    problem = name_problem(name)
    if problem:
        raise LvmError(
            problem,
            f'New volume group name "{name}" is invalid.',
            f"Run `{command} --help' for more information.",
            rc=EINVALID_CMD_LINE,
        )


def check_new_lv_name(vg_name: str, name: str, command: str) -> None:
    """lvcreate/lvrename name checks, in LVM's order and words."""
    if name_problem(name):
        raise LvmError(
            f'Logical volume name "{name}" is invalid.',
            f"Run `{command} --help' for more information.",
            rc=EINVALID_CMD_LINE,
        )
    reserved = next((p for p in RESERVED_PREFIXES if name.startswith(p)), None)
    if reserved:
        raise LvmError(
            f'Names starting "{reserved}" are reserved. Please choose a different LV name.',
            f"Run `{command} --help' for more information.",
            rc=EINVALID_CMD_LINE,
        )
    reserved = next((s for s in RESERVED_SUBSTRINGS if s in name), None)
    if reserved:
        raise LvmError(
            f'Names including "{reserved}" are reserved. Please choose a different LV name.',
            f"Run `{command} --help' for more information.",
            rc=EINVALID_CMD_LINE,
        )
    full = len(vg_name) + len(name) + 3
    if full >= NAME_LEN:
        raise LvmError(
            f'Internal error: LV name "{vg_name}/{name}" length {full} is not supported.', rc=ECMD_FAILED
        )


def split_lv_arg(arg: str) -> tuple[str, str]:
    """'vg/lv', '/dev/vg/lv' or '/dev/mapper/vg-lv' -> (vg, lv); a bare name gives ('', name)."""
    if arg.startswith("/dev/mapper/"):
        vg, lv = split_dm_name(arg[len("/dev/mapper/") :])
        return vg, lv
    if arg.startswith("/dev/"):
        arg = arg[len("/dev/") :]
    vg, slash, lv = arg.partition("/")
    return (vg, lv) if slash else ("", arg)


def dm_name(vg: str, lv: str, layer: str = "") -> str:
    """The device-mapper name LVM uses: dashes doubled, joined by a single dash."""
    parts = [vg.replace("-", "--"), lv.replace("-", "--")]
    if layer:
        parts.append(layer)
    return "-".join(parts)


def split_dm_name(name: str) -> tuple[str, str]:
    """Invert dm_name for VG-LV (a single dash separates; doubled dashes are literal)."""
    i = 0
    while i < len(name):
        if name[i] == "-":
            if name[i + 1 : i + 2] == "-":
                i += 2
                continue
            return name[:i].replace("--", "-"), name[i + 1 :].replace("--", "-")
        i += 1
    return name.replace("--", "-"), ""


def find_vg(state: State, name: str) -> VG:
    vg = state.vgs.get(name)
    if vg is None:
        raise LvmError(f'Volume group "{name}" not found', f"Cannot process volume group {name}")
    return vg


def next_snapshot_name(vg: VG) -> str:
    """The name of LVM's internal LV for a new COW snapshot: snapshotN, N one above the highest."""
    high = -1
    for name in [*vg.lvs, *(lv.snapshot_name for lv in vg.lvs.values() if lv.snapshot_name)]:
        m = re.match(r"snapshot(-?\d+)", name)
        if m:
            high = max(high, int(m.group(1)))
    return f"snapshot{high + 1}"


def next_lv_name(vg: VG) -> str:
    """lvolN with N one above the highest lvol%d number in the VG (hidden LVs included)."""
    high = -1
    for name in vg.lvs:
        m = re.match(r"lvol(-?\d+)", name)
        if m:
            high = max(high, int(m.group(1)))
    return f"lvol{high + 1}"
