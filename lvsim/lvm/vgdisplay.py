"""vgdisplay: each VG's long listing, or -s its one-line summary; -C/--columns is vgs."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.lvm.display import units_of, vg_full, vg_short
from lvsim.lvm.lvdisplay import REPORT_ONLY, incompatible
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("vgdisplay"))
def vgdisplay(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker, run_report
    from lvsim.lvm.report.fields import VGS, Env
    from lvsim.lvm.selection import selected_rows

    incompatible(ctx, REPORT_ONLY, ("colon", "activevolumegroups", "short"), ".")
    if ctx.args.has("columns"):
        return run_report(
            "vgs", ctx.state, ctx.console, ctx.args, ctx.config.str("report/time_format"), config=ctx.config
        )
    env = Env(ctx.state, time_format=ctx.config.str("report/time_format"))
    walker = Walker(ctx.state, ctx.console, env, ctx.args)
    with units_of(ctx.args):
        for row in selected_rows(ctx, VGS, walker.vgs(), env):
            assert row.view is not None
            if ctx.args.has("short"):
                vg_short(ctx.console, row.view)
            else:
                vg_full(ctx.console, ctx.state, row.view)
    return walker.rc
