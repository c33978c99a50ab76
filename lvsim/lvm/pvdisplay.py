"""pvdisplay: each PV's long listing, or -s its capacity; -C/--columns is pvs."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.units import display_size
from lvsim.lvm.display import field, pv_full
from lvsim.lvm.lvdisplay import REPORT_ONLY, incompatible
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("pvdisplay"))
def pvdisplay(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker, run_report
    from lvsim.lvm.report.fields import Env

    incompatible(ctx, (*REPORT_ONLY, "all"), ("colon", "maps", "short"), "")
    if ctx.args.has("columns"):
        return run_report("pvs", ctx.state, ctx.console, ctx.args, ctx.config.str("report/time_format"))
    walker = Walker(ctx.state, ctx.console, Env(ctx.state), ctx.args)
    for row in walker.pvs(False, by_vg=False):
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
