"""Tags on LVs, VGs and PVs: --addtag/--deltag, and @tag arguments naming what carries a tag.

A tag is LVM's tag_arg: an optional leading '@' is dropped, then [A-Za-z0-9_+.-/=!:&#]+ (the parser
has checked the option values). LVM keeps a tag once however often it is added, deletes a missing
one silently, and lists tags sorted in its reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lvsim.core.console import Console
from lvsim.core.context import Args
from lvsim.core.model import LV, VG, State

_VALID = re.compile(r"[A-Za-z0-9_+.\-/=!:&#]+")


def change(args: Args, tags: list[str]) -> None:
    """Apply the command line's --addtag then --deltag values (lvm2 handles the options in its
    definition's order, each option's values in command-line order) to a tag list in place."""
    for tag in args.opts.get("addtag", []):
        if str(tag) not in tags:
            tags.append(str(tag))
    for tag in args.opts.get("deltag", []):
        if str(tag) in tags:
            tags.remove(str(tag))


def changes_tags(args: Args) -> bool:
    return args.has("addtag") or args.has("deltag")


def lv_tags(lv: LV) -> list[str]:
    """An LV's tag list (the model's, changed in place)."""
    return lv.tags


def split_args(console: Console, positionals: Iterable[str]) -> tuple[list[str], list[str], bool]:
    """The names and the @tags among positional arguments, and whether every tag was valid
    (_get_arg_*names: an invalid tag is skipped with an error)."""
    names: list[str] = []
    tags: list[str] = []
    valid = True
    for arg in positionals:
        if not arg.startswith("@"):
            names.append(arg)
        elif _VALID.fullmatch(arg[1:]):
            if arg[1:] not in tags:
                tags.append(arg[1:])
        else:
            console.error(f"Skipping invalid tag {arg}.")
            valid = False
    return names, tags, valid


def matches(tags: Iterable[str], wanted: Iterable[str]) -> bool:
    wanted = set(wanted)
    return any(t in wanted for t in tags)


def lv_selected(vg: VG, lv: LV, wanted: list[str]) -> bool:
    """process_each_lv_in_vg: an LV is taken for a tag when its VG or the LV itself carries it."""
    return bool(wanted) and (matches(vg.tags, wanted) or matches(lv.tags, wanted))


def expand_pvs(state: State, vg: VG, devices: list[str]) -> list[str]:
    """PV arguments with each @tag replaced by the VG's PVs carrying the tag, in the VG's order
    (create_pv_list)."""
    out: list[str] = []
    for arg in devices:
        named = [d for d in vg.pvs if arg[1:] in state.pvs[d].tags] if arg.startswith("@") else [arg]
        out += [d for d in named if d not in out]
    return out
