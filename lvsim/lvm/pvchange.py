"""pvchange."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("pvchange"))
def pvchange(ctx: Ctx) -> int:
    rc = 0
    for device in ctx.args.pos:
        pv = ctx.state.pvs.get(device)
        if pv is None:
            ctx.console.error(f'Failed to find physical volume "{device}".')
            rc = ECMD_FAILED
            continue
        pv.allocatable = bool(ctx.args.get("allocatable"))
        if pv.vg:
            ctx.state.vgs[pv.vg].seqno += 1
        ctx.console.print(f'Physical volume "{device}" changed')
    ctx.console.print(f"{len(ctx.args.pos)} physical volume changed / 0 physical volumes not changed")
    return rc
