"""vgdisplay: each VG's long listing, or -s its one-line summary; -C/--columns is vgs."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.lvm.display import vg_full, vg_short
from lvsim.lvm.lvdisplay import REPORT_ONLY, incompatible
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("vgdisplay"))
def vgdisplay(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker, run_report
    from lvsim.lvm.report.fields import Env

    incompatible(ctx, REPORT_ONLY, ("colon", "activevolumegroups", "short"), ".")
    if ctx.args.has("columns"):
        return run_report("vgs", ctx.state, ctx.console, ctx.args, ctx.config.str("report/time_format"))
    walker = Walker(ctx.state, ctx.console, Env(ctx.state), ctx.args)
    for row in walker.vgs():
        assert row.view is not None
        if ctx.args.has("short"):
            vg_short(ctx.console, row.view)
        else:
            vg_full(ctx.console, ctx.state, row.view)
    return walker.rc
