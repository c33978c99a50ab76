"""vgscan: one line per VG found (--mknodes: the /dev nodes are always right in the simulator)."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("vgscan"))
def vgscan(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker
    from lvsim.lvm.report.fields import Env

    walker = Walker(ctx.state, ctx.console, Env(ctx.state), ctx.args)
    for row in walker.vgs():
        assert row.view is not None
        ctx.console.print(f'Found volume group "{row.view.vg.name}" using metadata type lvm2')
    return walker.rc
