"""pvdisplay: each PV's long listing, or -s its capacity; -C/--columns is pvs."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.lvm.display import display_size, field, pv_full, units_of
from lvsim.lvm.lvdisplay import REPORT_ONLY, incompatible
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("pvdisplay"))
def pvdisplay(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker, run_report
    from lvsim.lvm.report.fields import PVS, Env
    from lvsim.lvm.selection import selected_rows

    incompatible(ctx, (*REPORT_ONLY, "all"), ("colon", "maps", "short"), "")
    if ctx.args.has("columns"):
        return run_report(
            "pvs", ctx.state, ctx.console, ctx.args, ctx.config.str("report/time_format"), config=ctx.config
        )
    env = Env(ctx.state, time_format=ctx.config.str("report/time_format"))
    walker = Walker(ctx.state, ctx.console, env, ctx.args)
    rows = selected_rows(ctx, PVS, walker.pvs(False, by_vg=False), env)
    with units_of(ctx.args):
        for row in rows:
            pv = row.pv
            if pv is None:
                continue
            orphan = row.view is None
            size = int(field(row, "pv_size") if orphan else field(row, "pv_free"))
            if ctx.args.has("short"):
                ctx.console.print(f'Device "{pv.device}" has a capacity of {display_size(size)}')
                continue
            if orphan:
                ctx.console.print(f'"{pv.device}" is a new physical volume of "{display_size(size)}"')
            pv_full(ctx.console, ctx.state, pv, row.view)
    return walker.rc
