"""--select for commands that act on LVs (lvchange): the report's selection, applied to the LVs
process_each_lv walks (every VG, thin pools first, hidden LVs only with -a)."""

from __future__ import annotations

from lvsim.core.context import Ctx
from lvsim.core.model import LV, VG
from lvsim.lvm.report import layout
from lvsim.lvm.report.engine import LVS, Definition, Walker
from lvsim.lvm.report.fields import Env


def selected_lvs(ctx: Ctx) -> tuple[list[tuple[VG, LV]], int]:
    """The LVs the command line's names and tags give (all when it names none) that match its
    --select; and the exit code of resolving the names."""
    env = Env(ctx.state, time_format=ctx.config.str("report/time_format"))
    definition = Definition(ctx.console, LVS, "lv_name", "", ctx.args.str("select"))
    walker = Walker(ctx.state, ctx.console, env, ctx.args)
    rows = walker.lvs(False)
    selection = definition.selection
    columns = [c.field for c in definition.columns]
    found = []
    for row in rows:
        assert row.view is not None and row.lv is not None
        if selection is not None:
            cells = [layout.cell(f, f.get(row), env) for f in columns]
            if not selection.matches(cells):
                continue
        found.append((row.view.vg, row.lv))
    return found, walker.rc
