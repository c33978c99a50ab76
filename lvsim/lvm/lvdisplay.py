"""lvdisplay: each LV's long listing (-m adds its segments); -C/--columns is lvs."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.lvm.common import run_help
from lvsim.lvm.display import lv_full, lv_segments, units_of
from lvsim.lvm.parser import LvmSpec

REPORT_ONLY = ("aligned", "binary", "noheadings", "options", "separator", "sort", "unbuffered")


def incompatible(ctx: Ctx, columns_only: tuple[str, ...], display_only: tuple[str, ...], dot: str) -> None:
    """The option checks the *display commands make before anything else."""
    args = ctx.args
    if args.has("columns"):
        if any(args.has(o) for o in display_only):
            raise LvmError("Incompatible options selected", run_help(ctx.command), rc=EINVALID_CMD_LINE)
    elif any(args.has(o) for o in columns_only):
        raise LvmError(f"Incompatible options selected{dot}", run_help(ctx.command), rc=EINVALID_CMD_LINE)


@command(LvmSpec("lvdisplay"))
def lvdisplay(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker, run_report
    from lvsim.lvm.report.fields import LVS, Env
    from lvsim.lvm.selection import selected_rows

    incompatible(ctx, REPORT_ONLY, ("colon", "maps"), ".")
    if ctx.args.has("columns"):
        return run_report(
            "lvs", ctx.state, ctx.console, ctx.args, ctx.config.str("report/time_format"), config=ctx.config
        )
    env = Env(ctx.state, time_format=ctx.config.str("report/time_format"))
    walker = Walker(ctx.state, ctx.console, env, ctx.args)
    with units_of(ctx.args):
        for row in selected_rows(ctx, LVS, walker.lvs(False), env):
            assert row.view is not None and row.lv is not None
            if not row.lv.visible and not ctx.args.has("all"):
                continue
            lv_full(ctx.console, ctx.state, row.view, row.lv)
            if ctx.args.has("maps"):
                lv_segments(ctx.console, ctx.state, row.view, row.lv)
    return walker.rc
