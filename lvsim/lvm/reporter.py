"""lvs, vgs and pvs: the reporting commands (the engine is `lvsim.lvm.report.engine`)."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.lvm.parser import LvmSpec


def _run(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import run_report

    return run_report(
        ctx.command,
        ctx.state,
        ctx.console,
        ctx.args,
        ctx.config.str("report/time_format"),
        ctx.config.int("activation/monitoring"),
        ctx.config,
    )


for _name in ("lvs", "vgs", "pvs"):
    command(LvmSpec(_name))(_run)
