"""--select for commands that act on LVs (lvchange) or list them (the *display commands): the
report's selection, applied to what process_each_lv/vg/pv walks (every VG, thin pools first, hidden
LVs only with -a)."""

from __future__ import annotations

from lvsim.core.context import Ctx
from lvsim.core.model import LV, VG
from lvsim.lvm.report import layout
from lvsim.lvm.report.engine import LVS, Definition, Walker
from lvsim.lvm.report.fields import PVS, VGS, Env, Row


def selected_lvs(ctx: Ctx) -> tuple[list[tuple[VG, LV]], int]:
    """The LVs the command line's names and tags give (all when it names none) that match its
    --select; and the exit code of resolving the names."""
    env = Env(ctx.state, time_format=ctx.config.str("report/time_format"))
    walker = Walker(ctx.state, ctx.console, env, ctx.args)
    found = []
    for row in selected_rows(ctx, LVS, walker.lvs(False), env):
        assert row.view is not None and row.lv is not None
        found.append((row.view.vg, row.lv))
    return found, walker.rc


def selected_rows(ctx: Ctx, base: int, rows: list[Row], env: Env) -> list[Row]:
    """The rows (of LVs, VGs or PVs) matching the command line's --select (all without one)."""
    name = {LVS: "lv_name", VGS: "vg_name", PVS: "pv_name"}[base]
    definition = Definition(ctx.console, base, name, "", ctx.args.str("select"))
    selection = definition.selection
    if selection is None:
        return rows
    columns = [c.field for c in definition.columns]
    return [row for row in rows if selection.matches([layout.cell(f, f.get(row), env) for f in columns])]
